"""How synthetic receipts are printed: labels, date and amount formats by language, three layouts."""

from __future__ import annotations

import random
from datetime import date
from typing import TYPE_CHECKING

from extraction.amounts import exponent

if TYPE_CHECKING:
    from extraction.samples import SampleTruth

Line = tuple[str, str]  # (style, text): style is "title", "center" or "left"
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
MERCHANTS = {
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
ITEMS = [
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
CURRENCIES = {"en": ["GBP", "USD", "USD", "GBP", "JPY", "BHD"], "de": ["EUR", "EUR", "CHF"],
               "fr": ["EUR"], "es": ["EUR"]}  # fmt: skip
TAX_RATES = {"GBP": 20, "USD": 8, "EUR": 19, "CHF": 8, "JPY": 10, "BHD": 10}
_SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥"}


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
    rate = TAX_RATES[truth.currency]
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
