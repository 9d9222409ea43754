"""Images to text: bounded decoding, clean-up for Tesseract, and a bounded OCR run."""

from __future__ import annotations

import io
import time
import warnings

import pytesseract
from PIL import Image, ImageFilter, ImageOps

from extraction.types import ExtractionError, Limits

# HEIC/HEIF photos (iPhones) decode through pillow-heif's plug-in when it is installed
try:
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - optional
    pass
else:
    register_heif_opener()

# tesseract reads lines of text in one column block best; receipts are exactly that
_TESSERACT_CONFIG = "--psm 6"
_DESKEW_ANGLES = [a / 2 for a in range(-10, 11)]  # -5..5 degrees in half-degree steps


def open_bounded(data: bytes, limits: Limits) -> Image.Image:
    """Return the decoded image, refusing one over `limits.max_pixels` before decoding it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ExtractionError("image has too many pixels") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise ExtractionError("image is unreadable") from exc
    check_pixels(image.size, limits)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ExtractionError("image is unreadable") from exc
    return image


def check_pixels(size: tuple[int, int], limits: Limits) -> None:
    """Raise when an image of `size` would be too big to decode."""
    if size[0] * size[1] > limits.max_pixels:
        raise ExtractionError(
            f"image has too many pixels ({size[0]}x{size[1]}, at most {limits.max_pixels:,})"
        )


def prepare(image: Image.Image) -> Image.Image:
    """Return `image` upright, grey, big enough, straightened and black on white."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image.convert("RGBA"))
    grey = image.convert("L")
    # tesseract wants letters about 20-40 px high; phone photos are big, receipt scans narrow
    width = grey.width
    if width < 1600:  # 1200 read fewer merchants on the sample corpus; 1800 no better
        scale = min(3.0, 1600 / width)
        grey = grey.resize(
            (round(width * scale), round(grey.height * scale)), Image.Resampling.LANCZOS
        )
    elif width > 2500:
        scale = 2500 / width
        grey = grey.resize((2500, round(grey.height * scale)), Image.Resampling.LANCZOS)
    angle = skew_angle(grey)
    if angle:
        grey = grey.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    # a light blur before the threshold merges noise specks into the paper and keeps the
    # counters of 0, 6 and 8 open (a median filter closed them: "2026" read as "2626")
    grey = grey.filter(ImageFilter.GaussianBlur(1))
    level = otsu_level(grey)
    return grey.point(lambda v: 255 if v > level else 0)


def otsu_level(grey: Image.Image) -> int:
    """Return the grey level that best splits ink from paper (Otsu's method)."""
    histogram = grey.histogram()
    total = sum(histogram)
    sum_all = sum(i * h for i, h in enumerate(histogram))
    best, level, weight_bg, sum_bg = 0.0, 127, 0, 0.0
    for i, count in enumerate(histogram):
        weight_bg += count
        if weight_bg == 0:
            continue
        weight_fg = total - weight_bg
        if weight_fg == 0:
            break
        sum_bg += i * count
        mean_bg, mean_fg = sum_bg / weight_bg, (sum_all - sum_bg) / weight_fg
        between = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
        if between > best:
            best, level = between, i
    return level


def skew_angle(grey: Image.Image) -> float:
    """Return the rotation (within ±5°) that makes text rows straightest (projection profile).

    Straight rows make the row darkness alternate sharply between lines and gaps; the
    variance of the row means is largest at the right angle.
    """
    small = grey.resize(
        (400, max(1, round(grey.height * 400 / grey.width))), Image.Resampling.BILINEAR
    )
    small = ImageOps.invert(small)
    best_angle, best_score = 0.0, -1.0
    for angle in _DESKEW_ANGLES:
        turned = small.rotate(angle, Image.Resampling.BILINEAR, expand=False, fillcolor=0)
        column = turned.resize((1, turned.height), Image.Resampling.BOX)
        rows = [float(v) for v in column.get_flattened_data()]  # type: ignore[arg-type]
        mean = sum(rows) / len(rows)
        score = sum((r - mean) ** 2 for r in rows)
        if score > best_score * 1.01:  # prefer the smaller angle on near ties
            best_angle, best_score = angle, score
    return best_angle


def read_image(image: Image.Image, *, deadline: float) -> str:
    """Return the text Tesseract reads in `image`, within the time left until `deadline`."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ExtractionError("OCR timed out")
    try:
        return str(
            pytesseract.image_to_string(image, lang="eng", config=_TESSERACT_CONFIG, timeout=left)
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise ExtractionError("OCR is not available (tesseract is not installed)") from exc
    except RuntimeError as exc:
        if "timeout" in str(exc).lower():
            raise ExtractionError("OCR timed out") from exc
        raise ExtractionError("OCR failed") from exc
