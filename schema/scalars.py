"""The custom scalars' public contract: strawberry's Date, DateTime and Decimal, described.

Parsing stays strawberry's; the descriptions say what the API returns and accepts, and
``@specifiedBy`` names the RFC where one exists. Decimal has no such spec: its description
is the spec, and it is serialised in fixed-point so that the description holds.
"""

import dataclasses
import datetime
import decimal

from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
)
from strawberry.types.scalar import ScalarDefinition

RFC_3339 = "https://datatracker.ietf.org/doc/html/rfc3339"

DateTime = dataclasses.replace(
    DateTimeDefinition,
    description=(
        "An instant: an RFC 3339 date-time with a time-zone offset, such as "
        '"2026-01-31T09:30:00Z" or "2026-01-31T10:30:00.25+01:00". Returned with a numeric '
        'offset ("+00:00" for UTC) and with microseconds only when there are some. Inputs '
        "need the offset; instants before 1900 or from the year 9999 on are refused."
    ),
    specified_by_url=RFC_3339,
)

Date = dataclasses.replace(
    DateDefinition,
    description='A calendar day: an RFC 3339 full-date (YYYY-MM-DD), such as "2026-01-31".',
    specified_by_url=f"{RFC_3339}#section-5.6",
)


def fixed_point(value: decimal.Decimal) -> str:
    """Return ``value`` in plain decimal notation: str() would give "1E-7" for 0.0000001."""
    return format(value, "f")


Decimal = dataclasses.replace(
    DecimalDefinition,
    description=(
        "An exact decimal number as a string in plain notation: an optional minus sign, "
        'digits, then a point and digits if it has decimals, such as "12.34", "-0.50" or '
        '"1500"; never an exponent, never a binary float. Trailing zeros are kept: an amount '
        "has exactly its currency's decimals. Inputs take the same strings (JSON numbers and "
        'exponents such as "1.5e3" are accepted too); an amount with more decimals than its '
        "currency has is refused."
    ),
    serialize=fixed_point,
)

# the Python types the schema's fields are annotated with, and their scalar in the API
SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    datetime.datetime: DateTime,
    datetime.date: Date,
    decimal.Decimal: Decimal,
}
