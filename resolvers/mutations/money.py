"""MoneyInput to minor units, and conversion into the home currency at the day's rate."""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from db.engine import RequestDb
from db.money import MINOR_UNITS, minor_units, to_minor
from db.writes import expenses as expense_writes
from resolvers.mutations.rules import RuleCode, fail

# Above this an amount is a typo, not an expense (a billion major units).
MAX_MAJOR = Decimal(10) ** 9


def parse_money(amount: Decimal, currency: str, *, field: str) -> tuple[int, str]:
    """Return (minor units, code) of a MoneyInput, or raise the matching userError."""
    code = currency.strip().upper()
    if code not in MINOR_UNITS:
        raise fail(
            RuleCode.UNKNOWN_CURRENCY, f"Unknown currency {currency[:8]!r}.", f"{field}.currency"
        )
    if not amount.is_finite() or amount <= 0:
        raise fail(RuleCode.INVALID_AMOUNT, "The amount must be more than zero.", f"{field}.amount")
    if amount >= MAX_MAJOR:
        raise fail(RuleCode.INVALID_AMOUNT, "The amount is too large.", f"{field}.amount")
    try:
        return to_minor(amount, code), code
    except ValueError:
        digits = minor_units(code)
        raise fail(
            RuleCode.TOO_MANY_DECIMALS,
            f"{code} amounts have at most {digits} decimals.",
            f"{field}.amount",
        ) from None


async def to_home(
    db: RequestDb, *, amount_minor: int, currency: str, home: str, day: date, field: str
) -> tuple[int, Decimal, date]:
    """Return (home minor units, rate, rate day); the rate must exist, never an assumed 1."""
    rate = (
        Decimal(1)
        if currency == home
        else await expense_writes.fx_rate(db=db, currency=currency, quote=home, day=day)
    )
    if rate is None:
        raise fail(
            RuleCode.FX_RATE_MISSING,
            f"No {currency}->{home} exchange rate for {day.isoformat()}; try again once it is published.",
            field,
        )
    major = Decimal(amount_minor).scaleb(-minor_units(currency)) * rate
    home_minor = int(major.scaleb(minor_units(home)).quantize(Decimal(1), ROUND_HALF_EVEN))
    return home_minor, rate, day
