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
from extraction.pdfwrite import text_pdf

Kind = Literal["png", "jpeg", "pdf"]
Line = tuple[str, str]  # (style, text): style is "title", "center" or "left"

_FONT_DIRS = [
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
]
_MONO_FONTS = ["DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"]
_TITLE_FONTS = ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"]
WIDTH = 38  # characters per receipt line

_MONTHS = {
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
}
DATE_FORMATS: dict[str, list[str]] = {
    "en": ["iso", "dmy_slash", "d_mon_y", "mon_d_y"],
    "de": ["dmy_dot", "dmy_dot2", "d_month_y"],
    "fr": ["dmy_slash", "d_month_y"],
    "es": ["dmy_slash", "d_month_y"],
}
_LABELS = {
    "en": (
        "SUBTOTAL",
        "VAT",
        ["TOTAL", "AMOUNT DUE", "TOTAL TO PAY"],
        "CARD",
        "CASH",
        "CHANGE",
        "Date",
        "RECEIPT",
    ),
    "de": (
        "Zwischensumme",
        "MwSt",
        ["GESAMT", "SUMME", "Zu zahlen"],
        "Karte",
        "Bar",
        "Rückgeld",
        "Datum",
        "Kassenbon",
    ),
    "fr": (
        "Sous-total",
        "TVA",
        ["Total TTC", "A PAYER"],
        "Carte",
        "Espèces",
        "Rendu",
        "Date",
        "TICKET",
    ),
    "es": (
        "Subtotal",
        "IVA",
        ["TOTAL", "Importe"],
        "Tarjeta",
        "Efectivo",
        "Cambio",
        "Fecha",
        "FACTURA",
    ),
}
_MERCHANTS = {
    "en": [
        "Blue Bottle Coffee",
        "The Crown and Anchor",
        "Pret A Manger",
        "Station Parking",
        "City Cabs",
        "Office Depot",
        "Waterstones",
        "Tokyo Ramen House",
        "Gulf Hotel Bahrain",
        "Harbour Fish Bar",
    ],
    "de": [
        "Bäckerei Schmidt",
        "Hotel Adlon",
        "Gasthaus zum Löwen",
        "Bürobedarf Meyer",
        "Taxi Berlin",
    ],
    "fr": [
        "Café de Flore",
        "Papeterie Martin",
        "Le Petit Bistro",
        "Boulangerie Paul",
        "Hôtel du Nord",
    ],
    "es": ["Taberna del Puerto", "Restaurante Casa Lucio", "Papelería Sol", "Hotel Miramar"],
}
_ITEMS = [
    "Coffee",
    "Sandwich",
    "Parking",
    "Notebook",
    "Lunch menu",
    "Water",
    "Taxi fare",
    "Printer paper",
    "Room night",
    "Breakfast",
    "Pens x10",
    "Tea",
    "Salad",
    "Train ticket",
    "Cake",
    "Soup",
]
_CURRENCIES = {"en": ["GBP", "USD", "USD", "GBP", "JPY", "BHD"], "de": ["EUR", "EUR", "CHF"],
               "fr": ["EUR"], "es": ["EUR"]}  # fmt: skip
_TAX_RATES = {"GBP": 20, "USD": 8, "EUR": 19, "CHF": 8, "JPY": 10, "BHD": 10}
_SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥"}


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
    currency = rng.choice(_CURRENCIES[language])
    date_format = rng.choice(DATE_FORMATS[language])
    if currency == "USD":
        date_format = rng.choice(["iso", "mdy_slash", "d_mon_y", "mon_d_y"])
    unit = 10 ** exponent(currency) * (100 if currency == "JPY" else 1)
    items = tuple(
        (rng.choice(_ITEMS), rng.randint(1 * unit, 60 * unit) // 5 * 5)
        for _ in range(rng.randint(1, 6))
    )
    if rng.random() < 0.15:  # big bills make thousands separators appear
        items += (("Conference fee", rng.randint(900 * unit, 2500 * unit)),)
    subtotal = sum(price for _, price in items)
    tax = subtotal * _TAX_RATES[currency] // 100
    return SampleTruth(
        merchant=rng.choice(_MERCHANTS[language]),
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


def format_date(value: date, fmt: str, language: str) -> str:
    """Return `value` printed as a receipt in `language` would with format `fmt`."""
    month = _MONTHS[language][value.month - 1]
    return {
        "iso": value.isoformat(),
        "dmy_slash": value.strftime("%d/%m/%Y"),
        "mdy_slash": value.strftime("%m/%d/%Y"),
        "dmy_dot": value.strftime("%d.%m.%Y"),
        "dmy_dot2": value.strftime("%d.%m.%y"),
        "d_mon_y": f"{value.day} {month} {value.year}",
        "mon_d_y": f"{month} {value.day}, {value.year}",
        "d_month_y": (
            f"{value.day}. {month} {value.year}"
            if language == "de"
            else f"{value.day} de {month} de {value.year}"
            if language == "es"
            else f"{value.day} {month} {value.year}"
        ),
    }[fmt]


def format_amount(minor: int, currency: str, language: str, *, symbol: bool) -> str:
    """Return `minor` as printed: separators by language, symbol or code by currency."""
    exp = exponent(currency)
    whole, frac = divmod(minor, 10**exp) if exp else (minor, 0)
    thousands, decimal = (",", ".") if language == "en" or currency == "CHF" else (".", ",")
    if language == "fr":
        thousands = ""
    text = f"{whole:,}".replace(",", thousands) + (f"{decimal}{frac:0{exp}d}" if exp else "")
    if not symbol:
        return text
    if currency in ("CHF", "BHD") or (currency == "EUR" and language != "en" and minor % 2):
        return f"{currency} {text}"
    sign = _SYMBOL[currency]
    return f"{text} {sign}" if language != "en" else f"{sign}{text}"


def _row(left: str, right: str) -> Line:
    return ("left", left[: WIDTH - len(right) - 1].ljust(WIDTH - len(right)) + right)


def receipt_lines(truth: SampleTruth, rng: random.Random) -> list[Line]:
    """Return the printed lines of `truth` in its layout."""
    sub_l, tax_l, totals, card_l, cash_l, change_l, date_l, title_l = _LABELS[truth.language]

    def money(minor: int, symbol: bool = False) -> str:
        return format_amount(minor, truth.currency, truth.language, symbol=symbol)

    when = format_date(truth.spent_on, truth.date_format, truth.language)
    time_of_day = f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}"
    rate = _TAX_RATES[truth.currency]
    header: list[Line] = [
        ("title", truth.merchant),
        ("center", f"{rng.randint(1, 250)} {rng.choice(['High Street', 'Market Road', 'Hauptstraße', 'Rue de la Paix'])}"),
        ("center", rng.choice(["London SW1A 1AA", "10115 Berlin", "75002 Paris", "28013 Madrid"])),
        ("center", f"Tel: +{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000, 9999)} {rng.randint(100, 999)}"),
        ("center", f"VAT No: {rng.choice(['GB', 'DE', 'FR', 'ES'])}{rng.randint(10**8, 10**9 - 1)}"),
    ]  # fmt: skip
    items = [_row(name, money(price)) for name, price in truth.items]
    total_label = rng.choice(totals)
    if truth.layout == 0:
        return [
            *header,
            ("left", ""),
            _row(f"{date_l}: {when}", time_of_day),
            ("left", "-" * WIDTH),
            *items,
            ("left", "-" * WIDTH),
            _row(sub_l, money(truth.subtotal_minor)),
            _row(f"{tax_l} {rate}%", money(truth.tax_minor)),
            _row(total_label, money(truth.total_minor, True)),
            ("left", ""),
            _row(card_l, money(truth.total_minor)),
            ("center", "Thank you!"),
        ]
    if truth.layout == 1:
        cash = (
            (truth.total_minor // (10 ** exponent(truth.currency) * 10) + 1)
            * 10 ** exponent(truth.currency)
            * 10
        )
        return [
            ("center", title_l),
            *header,
            ("left", "=" * WIDTH),
            *items,
            ("left", "=" * WIDTH),
            _row(sub_l, money(truth.subtotal_minor)),
            _row(f"{tax_l} {rate}%", money(truth.tax_minor)),
            _row(total_label, money(truth.total_minor, True)),
            _row(cash_l, money(cash)),
            _row(change_l, money(cash - truth.total_minor)),
            ("left", ""),
            ("center", f"{when} {time_of_day}"),
        ]
    return [
        header[0],
        header[1],
        header[2],
        ("left", ""),
        ("left", f"{date_l}: {when}"),
        *items,
        ("left", ""),
        _row(f"{total_label} {truth.currency}", money(truth.total_minor)),
        _row(f"incl. {tax_l} {rate}%", money(truth.tax_minor)),
        header[4],
    ]


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
        kind: Kind = rng.choice(["png", "jpeg"]) if i % 100 < image_share * 100 else "pdf"
        out.append((truth, kind, render(truth, kind=kind, seed=seed * 100_003 + i)))
    return out
