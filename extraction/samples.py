"""Synthetic receipts with known truth, as PNG, JPEG or PDF, for tests, the demo and benchmarks."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from extraction.amounts import exponent
from extraction.dates import fold
from extraction.layouts import (
    CURRENCIES,
    DATE_FORMATS,
    ITEMS,
    MERCHANTS,
    TAX_RATES,
    WIDTH,
    Line,
    receipt_lines,
)
from extraction.pdfwrite import text_pdf
from extraction.types import Extraction

Kind = Literal["png", "jpeg", "pdf"]

_FONT_DIRS = [
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
]
_MONO_FONTS = ["DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"]
_TITLE_FONTS = ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"]


@dataclass(frozen=True)
class SampleTruth:
    """What a rendered receipt says, to compare an extraction with."""

    merchant: str
    spent_on: date
    currency: str
    items: tuple[tuple[str, int], ...]  # (name, minor units)
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    date_format: str = "iso"
    language: str = "en"
    layout: int = 0


def random_truth(rng: random.Random) -> SampleTruth:
    """Return a plausible receipt: items, tax at the currency's usual rate, a total that adds up."""
    language = rng.choice(["en", "en", "en", "de", "fr", "es"])
    currency = rng.choice(CURRENCIES[language])
    date_format = rng.choice(DATE_FORMATS[language])
    if currency == "USD":
        date_format = rng.choice(["iso", "mdy_slash", "d_mon_y", "mon_d_y"])
    unit = 10 ** exponent(currency) * (100 if currency == "JPY" else 1)
    items = tuple(
        (rng.choice(ITEMS), rng.randint(1 * unit, 60 * unit) // 5 * 5)
        for _ in range(rng.randint(1, 6))
    )
    if rng.random() < 0.15:  # big bills make thousands separators appear
        items += (("Conference fee", rng.randint(900 * unit, 2500 * unit)),)
    subtotal = sum(price for _, price in items)
    tax = subtotal * TAX_RATES[currency] // 100
    return SampleTruth(
        merchant=rng.choice(MERCHANTS[language]),
        spent_on=date(2026, 1, 1) + timedelta(days=rng.randrange(365)),
        currency=currency,
        items=items,
        subtotal_minor=subtotal,
        tax_minor=tax,
        total_minor=subtotal + tax,
        date_format=date_format,
        language=language,
        layout=rng.randrange(3),
    )


def _font(names: list[str], size: int, rng: random.Random) -> ImageFont.FreeTypeFont:
    paths = [d / n for n in names for d in _FONT_DIRS if (d / n).exists()]
    if not paths:
        raise RuntimeError(
            "no receipt fonts found under /usr/share/fonts/truetype: "
            "apt-get install fonts-dejavu-core fonts-liberation"
        )
    return ImageFont.truetype(str(rng.choice(paths)), size)


def _draw(lines: list[Line], rng: random.Random) -> Image.Image:
    size = rng.randint(20, 26)
    body, title = _font(_MONO_FONTS, size, rng), _font(_TITLE_FONTS, round(size * 1.4), rng)
    char_w = body.getlength("M")
    margin = rng.randint(20, 50)
    width = round(WIDTH * char_w + 2 * margin)
    leading = round(size * 1.45)
    paper = rng.randint(225, 255)
    image = Image.new("L", (width, leading * (len(lines) + 3) + 2 * margin), paper)
    draw = ImageDraw.Draw(image)
    y = margin
    for style, text in lines:
        font = title if style == "title" else body
        text_w = font.getlength(text)
        x = (width - text_w) / 2 if style in ("title", "center") else margin
        draw.text((x, y), text, fill=rng.randint(0, 60), font=font)
        y += round(leading * (1.5 if style == "title" else 1))
    return image


def _degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """Return `image` as a phone would see it: slightly turned, blurred and noisy."""
    paper = image.getpixel((0, 0))
    image = image.rotate(rng.uniform(-3, 3), Image.Resampling.BICUBIC, expand=True, fillcolor=paper)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.2)))
    amplitude = rng.uniform(0.05, 0.25)
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    noise = noise.point(lambda v: round(128 + (v - 128) * amplitude))
    return ImageChops.add(image, noise, 1.0, -128)


def render(truth: SampleTruth, *, kind: Kind, seed: int) -> bytes:
    """Return `truth` rendered as a PNG or JPEG photo-like image, or a PDF with a text layer."""
    rng = random.Random(seed)
    lines = receipt_lines(truth, rng)
    if kind == "pdf":
        return text_pdf(lines, width_chars=WIDTH)
    image = _degrade(_draw(lines, rng), rng)
    out = io.BytesIO()
    if kind == "jpeg":
        image.convert("RGB").save(out, "JPEG", quality=rng.randint(55, 90))
    else:
        image.save(out, "PNG")
    return out.getvalue()


def corpus(n: int, seed: int, *, image_share: float = 0.5) -> list[tuple[SampleTruth, Kind, bytes]]:
    """Return `n` seeded receipts, about `image_share` of them images (PNG or JPEG), the rest PDFs."""
    rng = random.Random(seed)
    out: list[tuple[SampleTruth, Kind, bytes]] = []
    for i in range(n):
        truth = random_truth(rng)
        # spread evenly: image when the running count of images steps up
        is_image = int((i + 1) * image_share) > int(i * image_share)
        kind: Kind = rng.choice(["png", "jpeg"]) if is_image else "pdf"
        out.append((truth, kind, render(truth, kind=kind, seed=seed * 100_003 + i)))
    return out


FIELDS = ("total", "currency", "date", "merchant")


def same_merchant(read: str, truth: str) -> bool:
    """Return whether `read` names `truth`, ignoring case, accents, spacing and punctuation."""
    return _squash(read) == _squash(truth)


def _squash(text: str) -> str:
    return "".join(ch for ch in fold(text) if ch.isalnum())


def hits(truth: SampleTruth, found: Extraction) -> dict[str, bool]:
    """Return, per field, whether `found` read what `truth` printed."""
    return {
        "total": found.total_minor is not None and found.total_minor.value == truth.total_minor,
        "currency": found.currency is not None and found.currency.value == truth.currency,
        "date": found.spent_on is not None and found.spent_on.value == truth.spent_on,
        "merchant": found.merchant is not None
        and same_merchant(found.merchant.value, truth.merchant),
    }


def known_merchants() -> list[str]:
    """Return every merchant the samples use: a business's list of known merchants."""
    return sorted({name for names in MERCHANTS.values() for name in names})
