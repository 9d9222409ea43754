"""Seeded FX rates: a deterministic random walk per currency, stored once, converted exactly."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from random import Random
from typing import Any

from db.money import minor_units

SEEDED_CURRENCIES = ("GBP", "USD", "EUR", "JPY", "CHF", "SEK", "BHD")

# US dollars per unit at the start of the walk; BHD is pegged (0.376 BHD per USD).
USD_PER_UNIT: dict[str, float] = {
    "GBP": 1.27, "USD": 1.0, "EUR": 1.08, "JPY": 0.0067, "CHF": 1.13, "SEK": 0.095,
    "BHD": 1 / 0.376,
}  # fmt: skip
PEGGED = frozenset({"USD", "BHD"})

RATE_SCALE = 10  # fx_rates.rate is numeric(20, 10)
_QUANTUM = Decimal(1).scaleb(-RATE_SCALE)
_ONE = Decimal(1).quantize(_QUANTUM)
FX_COLUMNS = ("currency", "quote_currency", "day", "rate")


def half_even_div(numerator: int, denominator: int) -> int:
    """Return numerator / denominator (denominator > 0) rounded half to even, exactly."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient & 1):
        quotient += 1
    return quotient


def convert_minor(amount_minor: int, currency: str, quote: str, rate: Decimal) -> int:
    """Return ``amount_minor`` of ``currency`` in minor units of ``quote`` at ``rate``."""
    shift = minor_units(quote) - minor_units(currency)
    value = Decimal(amount_minor) * rate * Decimal(1).scaleb(shift)
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def fx_walk(
    *, start: date, end: date, seed: int, currencies: Sequence[str] = SEEDED_CURRENCIES
) -> dict[tuple[str, str], list[Decimal]]:
    """Return daily rates ``currency -> quote`` from ``start`` to ``end`` for every pair."""
    rng = Random(f"fx:{seed}")
    days = (end - start).days + 1
    usd: dict[str, list[float]] = {}
    for currency in currencies:
        base = math.log(USD_PER_UNIT[currency])
        level, path = base, []
        for _ in range(days):
            path.append(math.exp(level))
            if currency not in PEGGED:
                # mean-reverting walk: about 0.5% a day, never drifting far from the base
                level += 0.01 * (base - level) + rng.gauss(0.0, 0.005)
        usd[currency] = path
    rates: dict[tuple[str, str], list[Decimal]] = {}
    for currency in currencies:
        for quote in currencies:
            if currency == quote:
                rates[currency, quote] = [_ONE] * days
            else:
                pairs = zip(usd[currency], usd[quote], strict=True)
                rates[currency, quote] = [
                    Decimal(a / b).quantize(_QUANTUM, ROUND_HALF_EVEN) for a, b in pairs
                ]
    return rates


@dataclass
class FxTable:
    """Daily rates for a date range, as stored in ``fx_rates``, with exact conversion."""

    start: date
    days: list[date]
    rates: dict[tuple[str, str], list[Decimal]]
    inserted: int = 0
    _scaled: dict[tuple[str, str], list[int]] = field(default_factory=dict, repr=False)
    _factors: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for (currency, quote), values in self.rates.items():
            self._scaled[currency, quote] = [int(v.scaleb(RATE_SCALE)) for v in values]
            shift = minor_units(quote) - minor_units(currency)
            self._factors[currency, quote] = (
                10 ** max(shift, 0),
                10 ** (RATE_SCALE + max(-shift, 0)),
            )

    @classmethod
    def from_rows(cls, *, start: date, end: date, rows: Iterable[Any], inserted: int) -> "FxTable":
        """Return the table of ``(currency, quote_currency, day, rate)`` rows over the range."""
        count = (end - start).days + 1
        rates: dict[tuple[str, str], list[Decimal]] = {}
        for currency, quote, day, rate in rows:
            values = rates.setdefault((currency, quote), [_ONE] * count)
            values[(day - start).days] = rate
        days = [start + timedelta(days=i) for i in range(count)]
        return cls(start=start, days=days, rates=rates, inserted=inserted)

    def index(self, day: date) -> int:
        """Return the position of ``day`` in the range."""
        return (day - self.start).days

    def convert(
        self, amount_minor: int, currency: str, quote: str, day: int
    ) -> tuple[int, Decimal]:
        """Return ``amount_minor`` converted to ``quote`` on day index ``day``, and the rate."""
        if currency == quote:
            return amount_minor, _ONE
        mul, div = self._factors[currency, quote]
        rate = self._scaled[currency, quote][day]
        return half_even_div(amount_minor * rate * mul, div), self.rates[currency, quote][day]


async def seed_fx_rates(
    conn: Any,
    *,
    start: date,
    end: date,
    seed: int,
    currencies: Sequence[str] = SEEDED_CURRENCIES,
) -> FxTable:
    """Return the stored rates over the range after adding the seeded ones that were missing.

    Rows already in ``fx_rates`` win (ON CONFLICT DO NOTHING), so seeding twice, or with
    another seed, never fails; conversions use what the table holds, never the walk.
    """
    walk = fx_walk(start=start, end=end, seed=seed, currencies=currencies)
    records = [
        (currency, quote, start + timedelta(days=i), rate)
        for (currency, quote), values in walk.items()
        for i, rate in enumerate(values)
    ]
    async with conn.transaction():
        await conn.execute("CREATE TEMP TABLE seed_fx_rates (LIKE fx_rates)")
        await conn.copy_records_to_table("seed_fx_rates", records=records, columns=FX_COLUMNS)
        status = await conn.execute(
            "INSERT INTO fx_rates SELECT * FROM seed_fx_rates ON CONFLICT DO NOTHING"
        )
        await conn.execute("DROP TABLE seed_fx_rates")
        rows = await conn.fetch(
            "SELECT currency, quote_currency, day, rate FROM fx_rates"
            " WHERE day BETWEEN $1 AND $2"
            " AND currency = ANY($3::text[]) AND quote_currency = ANY($3::text[])",
            start,
            end,
            list(currencies),
        )
    if len(rows) != len(currencies) ** 2 * ((end - start).days + 1):
        raise RuntimeError("fx_rates is missing seeded rows; is another writer deleting them?")
    inserted = int(status.split()[-1])
    return FxTable.from_rows(start=start, end=end, rows=rows, inserted=inserted)
