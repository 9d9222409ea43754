import io
from datetime import date

from PIL import Image, ImageDraw

from extraction import extract
from extraction.ocr import otsu_level, prepare, skew_angle
from extraction.samples import SampleTruth, render

TRUTH = SampleTruth(
    merchant="Blue Bottle Coffee",
    spent_on=date(2026, 3, 4),
    currency="USD",
    items=(("Coffee", 450), ("Cake", 525)),
    subtotal_minor=975,
    tax_minor=78,
    total_minor=1053,
    date_format="mon_d_y",
    language="en",
    layout=0,
)


def _lines(width: int = 600, height: int = 400) -> Image.Image:
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for y in range(40, height - 40, 30):
        draw.rectangle((40, y, width - 40, y + 10), fill=0)
    return image


def test_otsu_splits_ink_from_paper() -> None:
    image = Image.new("L", (10, 10), 230)
    image.paste(40, (0, 0, 10, 3))
    assert 40 <= otsu_level(image) < 230


def test_skew_angle_undoes_a_small_rotation() -> None:
    turned = _lines().rotate(3, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert abs(skew_angle(turned) + 3) <= 0.5
    assert skew_angle(_lines()) == 0


def test_prepare_makes_a_black_and_white_image_wide_enough() -> None:
    prepared = prepare(Image.new("RGBA", (300, 200), (255, 255, 255, 0)))
    assert prepared.mode == "L" and prepared.width >= 900
    assert set(prepared.get_flattened_data()) <= {0, 255}


def test_heic_photos_are_read(tesseract: None) -> None:
    image = Image.open(io.BytesIO(render(TRUTH, kind="png", seed=6)))
    out = io.BytesIO()
    image.convert("RGB").save(out, "HEIF", quality=90)
    found = extract(out.getvalue(), "image/heic")
    assert found.total_minor and found.total_minor.value == TRUTH.total_minor


def test_known_merchants_through_extract(tesseract: None) -> None:
    found = extract(
        render(TRUTH, kind="jpeg", seed=8),
        "image/jpeg",
        known_merchants=["Blue Bottle Coffee", "Pret A Manger"],
    )
    assert found.merchant and found.merchant.value == "Blue Bottle Coffee"
    assert found.merchant.confidence >= 0.8
