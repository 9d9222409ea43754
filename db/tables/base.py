"""What every table shares: the metadata and its naming convention, common columns."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.schema import SchemaItem

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

Timestamp = TIMESTAMP(timezone=True)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """Return the check that ``column`` holds one of ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def currency_check(column: str) -> CheckConstraint:
    """Return the check that ``column`` is an ISO 4217 code."""
    return CheckConstraint(f"{column} ~ '^[A-Z]{{3}}$'", name=f"{column}_iso4217")


def id_column() -> Column[int]:
    """Return the ``id`` column, unique within its business."""
    # BY DEFAULT (not ALWAYS) so bulk COPY can supply ids and then move the sequence.
    return Column("id", BigInteger, Identity(always=False), nullable=False)


def business_id_column() -> Column[int]:
    """Return the ``business_id`` column a business's table starts with."""
    return Column(
        "business_id",
        BigInteger,
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
    )


def created_at_column() -> Column[object]:
    """Return the ``created_at`` column, set by the database."""
    return Column("created_at", Timestamp, nullable=False, server_default=func.now())


def business_table(name: str, *items: SchemaItem) -> Table:
    """Return the table ``name`` of a business's rows: ``business_id`` and ``id``, then ``items``.

    Keyed by (business_id, id); its rows are deleted with their business.
    """
    return Table(
        name,
        metadata,
        business_id_column(),
        id_column(),
        *items,
        PrimaryKeyConstraint("business_id", "id"),
    )


def same_business_fk(
    column: str, table: str, *, ondelete: str | None = None, use_alter: bool = False
) -> ForeignKeyConstraint:
    """Return the foreign key from ``column`` to a row of ``table`` of the same business."""
    return ForeignKeyConstraint(
        ["business_id", column],
        [f"{table}.business_id", f"{table}.id"],
        ondelete=ondelete,
        use_alter=use_alter,
    )


def reference(
    column: str,
    table: str,
    *,
    nullable: bool = False,
    ondelete: str | None = None,
    use_alter: bool = False,
) -> tuple[Column[int], ForeignKeyConstraint]:
    """Return the column ``column`` holding the id of a row of ``table``, and its foreign key."""
    return (
        Column(column, BigInteger, nullable=nullable),
        same_business_fk(column, table, ondelete=ondelete, use_alter=use_alter),
    )


def currency(column: str) -> tuple[Column[str], CheckConstraint]:
    """Return the column ``column`` of an ISO 4217 code, and its check."""
    return Column(column, Text, nullable=False), currency_check(column)
