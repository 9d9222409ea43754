"""Money as integer minor units plus an ISO 4217 code: the currencies we know, and formatting."""

from collections.abc import Iterable
from decimal import Decimal

# ISO 4217 minor units for the currencies the API accepts.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2,
    "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2,
    "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2, "SAR": 2, "SEK": 2, "SGD": 2,
    "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip


# Amounts are stored as bigint minor units: their magnitude stays below this.
MAX_MINOR = 2**63
MAX_MINOR_DIGITS = len(str(MAX_MINOR))


class UnknownCurrency(ValueError):
    """Raised for a code that is not in :data:`MINOR_UNITS`."""


def minor_units(currency: str) -> int:
    """Return how many decimals ``currency`` has (JPY 0, GBP 2, BHD 3)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Return ``amount_minor`` as an exact decimal in major units with the currency's decimals."""
    # an integer scaled by 10**-digits has exactly ``digits`` decimals ("1.00", "0.00")
    return Decimal(amount_minor).scaleb(-minor_units(currency))


def major_column(amounts: Iterable[tuple[int, str]]) -> list[str]:
    """Return (minor units, currency) pairs as decimal strings in plain notation, at once.

    What ``format(to_major(...), "f")``, the Decimal scalar's serialisation, gives, by
    cutting the integer's digits: no Decimal made, no division (1.37 -> 0.69 us an amount;
    a page shows one or two a row). tests/schema/test_columns_many.py holds the two equal
    in every currency.
    """
    units = MINOR_UNITS
    column: list[str] = []
    append = column.append
    for minor, currency in amounts:
        digits = units.get(currency)
        if digits is None:
            raise UnknownCurrency(currency)
        if not digits:
            append(str(minor))
        elif minor < 0:  # at least one digit before the point: "0.05"
            text = str(-minor).rjust(digits + 1, "0")
            append(f"-{text[:-digits]}.{text[-digits:]}")
        else:
            text = str(minor).rjust(digits + 1, "0")
            append(f"{text[:-digits]}.{text[-digits:]}")
    return column


def format_major(amount_minor: int, currency: str) -> str:
    """Return the decimal string of ``amount_minor`` in major units ("12.34", "1500", "1.250")."""
    return str(to_major(amount_minor, currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Return ``amount`` in minor units; ValueError if not finite, too precise or too large."""
    digits = minor_units(currency)
    # integer arithmetic on the decimal's own digits and exponent: the decimal context
    # overflows on 1e999999999 and rounds 1e-999999999 to zero
    sign, coefficient, exponent = amount.as_tuple()
    if not isinstance(exponent, int):  # NaN or Infinity
        raise ValueError("the amount must be a finite number")
    significant = "".join(map(str, coefficient)).rstrip("0")
    if not significant:
        return 0
    exponent += len(coefficient) - len(significant)  # the stripped zeros
    if exponent + digits < 0:
        raise ValueError(f"{currency} amounts have at most {digits} decimals")
    if len(significant) + exponent + digits > MAX_MINOR_DIGITS:
        raise ValueError("the amount is too large")
    scaled: int = int(significant) * 10 ** (exponent + digits)  # exponent + digits >= 0
    if scaled >= MAX_MINOR:
        raise ValueError("the amount is too large")
    return -scaled if sign else scaled
