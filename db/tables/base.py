"""What every table shares: the metadata and its naming convention, common columns."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.schema import SchemaItem

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

Timestamp = TIMESTAMP(timezone=True)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """Return the check that ``column`` holds one of ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def currency_check(column: str) -> sa.CheckConstraint:
    """Return the check that ``column`` is an ISO 4217 code."""
    return sa.CheckConstraint(f"{column} ~ '^[A-Z]{{3}}$'", name=f"{column}_iso4217")


def id_column() -> sa.Column[int]:
    """Return the ``id`` column, unique within its business."""
    # BY DEFAULT (not ALWAYS) so bulk COPY can supply ids and then move the sequence.
    return sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False)


def business_id_column() -> sa.Column[int]:
    """Return the ``business_id`` column a business's table starts with."""
    return sa.Column(
        "business_id",
        sa.BigInteger,
        sa.ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
    )


def created_at_column() -> sa.Column[object]:
    """Return the ``created_at`` column, set by the database."""
    return sa.Column("created_at", Timestamp, nullable=False, server_default=sa.func.now())


def business_table(name: str, *items: SchemaItem) -> sa.Table:
    """Return the table ``name`` of a business's rows: ``business_id`` and ``id``, then ``items``.

    Keyed by (business_id, id); its rows are deleted with their business.
    """
    return sa.Table(
        name,
        metadata,
        business_id_column(),
        id_column(),
        *items,
        sa.PrimaryKeyConstraint("business_id", "id"),
    )


def same_business_fk(
    column: str, table: str, *, ondelete: str | None = None, use_alter: bool = False
) -> sa.ForeignKeyConstraint:
    """Return the foreign key from ``column`` to a row of ``table`` of the same business."""
    return sa.ForeignKeyConstraint(
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
) -> tuple[sa.Column[int], sa.ForeignKeyConstraint]:
    """Return the column ``column`` holding the id of a row of ``table``, and its foreign key."""
    return (
        sa.Column(column, sa.BigInteger, nullable=nullable),
        same_business_fk(column, table, ondelete=ondelete, use_alter=use_alter),
    )


def currency(column: str) -> tuple[sa.Column[str], sa.CheckConstraint]:
    """Return the column ``column`` of an ISO 4217 code, and its check."""
    return sa.Column(column, sa.Text, nullable=False), currency_check(column)
