"""The DDL the migrations repeat (alembic/versions/): a business's table, its keys, its stamps.

Applied migrations call these, so each must go on building exactly what it builds today:
never change one, add another. Constraint names are given in full (``op.f``), so that
no naming convention of db/tables/ can change them later.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

TIMESTAMP = postgresql.TIMESTAMP(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


def create_business_table(name: str, *items: sa.Column[object] | sa.Constraint) -> None:
    """Create a table of a business's rows: ``business_id`` and an identity ``id``, then ``items``.

    Keyed by (business_id, id); its rows are deleted with their business.
    """
    op.create_table(
        name,
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *items,
        business_fk(name),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f(f"pk_{name}")),
    )


def now_column(name: str) -> sa.Column[object]:
    """Return the timestamp column ``name``, set to the transaction's start by the database."""
    return sa.Column(name, TIMESTAMP, server_default=sa.text("now()"), nullable=False)


def business_fk(table: str) -> sa.ForeignKeyConstraint:
    """Return the foreign key from ``table``'s ``business_id`` to its business, cascading deletes."""
    return sa.ForeignKeyConstraint(
        ["business_id"],
        ["businesses.id"],
        name=op.f(f"fk_{table}_business_id_businesses"),
        ondelete="CASCADE",
    )


def same_business_fk(
    table: str, column: str, target: str, *, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    """Return the foreign key from ``table``'s ``column`` to a row of ``target`` of the same business."""
    return sa.ForeignKeyConstraint(
        ["business_id", column],
        [f"{target}.business_id", f"{target}.id"],
        name=op.f(f"fk_{table}_business_id_{column}_{target}"),
        ondelete=ondelete,
    )


def currency_check(table: str, column: str) -> sa.CheckConstraint:
    """Return the check that ``table``'s ``column`` is an ISO 4217 code."""
    return sa.CheckConstraint(
        f"{column} ~ '^[A-Z]{{3}}$'", name=op.f(f"ck_{table}_{column}_iso4217")
    )


def reference(
    table: str, column: str, target: str, *, nullable: bool = False
) -> tuple[sa.Column[object], sa.ForeignKeyConstraint]:
    """Return ``table``'s column ``column`` holding the id of a row of ``target``, and its key."""
    return (
        sa.Column(column, sa.BigInteger(), nullable=nullable),
        same_business_fk(table, column, target),
    )


def currency(table: str, column: str) -> tuple[sa.Column[object], sa.CheckConstraint]:
    """Return ``table``'s column ``column`` of an ISO 4217 code, and its check."""
    return sa.Column(column, sa.Text(), nullable=False), currency_check(table, column)


def create_business_index(table: str, column: str) -> None:
    """Create the index of ``table`` on ``business_id`` and ``column``, named by convention."""
    op.create_index(
        op.f(f"ix_{table}_business_id_{column}"), table, ["business_id", column], unique=False
    )


def drop_business_index(table: str, column: str) -> None:
    """Drop the index ``create_business_index`` created."""
    op.drop_index(op.f(f"ix_{table}_business_id_{column}"), table_name=table)
