"""Currencies and amounts: symbols and ISO codes, separators, minor units."""

from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor-unit exponents of the currencies we expect; unknown codes default to 2
EXPONENTS: dict[str, int] = {
    "GBP": 2, "USD": 2, "EUR": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "INR": 2, "CNY": 2, "HKD": 2,
    "SGD": 2, "MXN": 2, "BRL": 2, "ZAR": 2, "AED": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}  # fmt: skip

SYMBOLS: dict[str, str] = {"£": "GBP", "€": "EUR", "¥": "JPY", "$": "USD", "₹": "INR", "₩": "KRW"}

_CODE_RE = re.compile(r"(?<![A-Z])(" + "|".join(EXPONENTS) + r")(?![A-Z])")
_SYMBOL_RE = re.compile("[" + re.escape("".join(SYMBOLS)) + "]")

# digits with optional thousands groups (. , ' or a thin/no-break space) and decimals
AMOUNT_RE = re.compile(
    r"(?<![\d.,])-?(?:\d{1,3}(?:[.,'\u202f\u00a0]\d{3})+(?:[.,]\d{1,3})?|\d+(?:[.,]\d{1,3})?)(?![\d])"
)

_SPACED_SEPARATOR = re.compile(r"(?<=\d) ?([.,]) ?(?=\d)")


def exponent(currency: str | None) -> int:
    """Return the number of minor-unit digits of `currency` (2 when unknown)."""
    return EXPONENTS.get(currency or "", 2)


def currencies_in(text: str) -> Counter[str]:
    """Return how often each currency is named in `text`, by ISO code or symbol."""
    found: Counter[str] = Counter()
    for match in _CODE_RE.finditer(text.upper()):
        found[match.group(1)] += 1
    for match in _SYMBOL_RE.finditer(text):
        found[SYMBOLS[match.group(0)]] += 1
    return found


def to_minor(token: str, exp: int) -> int | None:
    """Return `token` ("1.234,56", "1,234.56", "12,50", "1'234") in minor units, or None."""
    split = _split(token.lstrip("-"), exp)
    if split is None:
        return None
    whole, frac = split
    value = (Decimal(f"{whole}.{frac or 0}") * 10**exp).quantize(Decimal(1), ROUND_HALF_UP)
    return -int(value) if token.startswith("-") else int(value)


def _split(token: str, exp: int) -> tuple[str, str | None] | None:
    """Return the whole digits and the decimal digits (None when there are none)."""
    seps = [(i, ch) for i, ch in enumerate(token) if not ch.isdigit()]
    if not seps:
        return (token, None) if token else None
    last_i, last_ch = seps[-1]
    tail = token[last_i + 1 :]
    kinds = {ch for _, ch in seps}
    decimal = last_ch in ".," and (len(kinds) > 1 or (len(seps) == 1 and _is_decimal(tail, exp)))
    if not decimal:
        return re.sub(r"\D", "", token), None
    whole = re.sub(r"\D", "", token[:last_i])
    return (whole or "0"), tail


def _is_decimal(tail: str, exp: int) -> bool:
    # one separator: "12,50" is decimal; "1,234" is a thousands group unless the currency has 3 decimals
    if len(tail) == 3:
        return exp == 3
    return True


def amounts_in(line: str, exp: int) -> list[int]:
    """Return the amounts on `line` in minor units, left to right.

    For currencies with decimals, a bare integer (a quantity, a code) is an amount only
    next to a currency symbol or code.
    """
    # OCR often puts a space beside a separator: "1, 850.995", "176 ,23"
    line = _SPACED_SEPARATOR.sub(r"\1", line)
    found = []
    for match in AMOUNT_RE.finditer(line):
        split = _split(match.group(0).lstrip("-"), exp)
        if split is None:
            continue
        if exp > 0 and split[1] is None and not _has_currency_near(line, match):
            continue
        minor = to_minor(match.group(0), exp)
        if minor is not None:
            found.append(minor)
    return found


def _has_currency_near(line: str, match: re.Match[str]) -> bool:
    before = line[max(0, match.start() - 4) : match.start()]
    after = line[match.end() : match.end() + 4]
    return bool(_SYMBOL_RE.search(before + after) or _CODE_RE.search((before + after).upper()))
