"""spend rollup: expense totals per local day and month, maintained by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:45:00.000000

``expense_day_totals`` and ``expense_month_totals`` hold, per business, local calendar
day (month) in the business's time zone, team, category, currency, status and home
currency, the exact sum of ``home_amount_minor`` and the count of the expenses that are
not soft-deleted. Statement-level triggers with transition tables keep them equal to a
fresh GROUP BY of ``expenses``; a change of ``businesses.timezone`` rebuilds that
business's rows. spendSummary reads them (db/queries/summary_rollup.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from db.migration_ddl import business_fk

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (("expense_day_totals", "day"), ("expense_month_totals", "month"))
KEY = ("team_id", "category_id", "currency", "status", "home_currency")

# The SQL that adds one statement's change to a rollup. ``source`` yields the changed
# expense rows with ``sign`` +1 (new version) or -1 (old version); keys whose count and
# total both net to zero (an update that moved neither) are not written at all. Rows are
# upserted in key order, so two transactions lock the rows they share in the same order:
# no deadlock. The trigger runs it itself: only its own statements see the transition
# tables.
ADD_FUNCTION = """
CREATE FUNCTION expense_totals_add_sql(target text, period text, source text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        INSERT INTO %1$I AS t (business_id, %2$I, team_id, category_id, currency, status,
                               home_currency, total_minor, n)
        SELECT r.business_id, date_trunc(%2$L, timezone(b.timezone, r.spent_at))::date,
               r.team_id, r.category_id, r.currency, r.status, r.home_currency,
               sum(r.sign * r.home_amount_minor), sum(r.sign)
        FROM (%3$s) r JOIN businesses b ON b.id = r.business_id
        WHERE r.deleted_at IS NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING sum(r.sign) <> 0 OR sum(r.sign * r.home_amount_minor) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (business_id, %2$I, team_id, category_id, currency, status, home_currency)
        DO UPDATE SET total_minor = t.total_minor + excluded.total_minor, n = t.n + excluded.n
    $q$, target, period, source)
$fn$
"""

SYNC_FUNCTION = """
CREATE FUNCTION expense_totals_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    source text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows'
    END;
BEGIN
    -- FOR SHARE waits for a concurrent time zone change to commit, then reads the new
    -- zone (the businesses trigger below rebuilds from what had committed before it)
    EXECUTE format(
        'SELECT 1 FROM businesses WHERE id IN (SELECT business_id FROM (%s) r)'
        ' ORDER BY id FOR SHARE', source);
    EXECUTE expense_totals_add_sql('expense_day_totals', 'day', source);
    EXECUTE expense_totals_add_sql('expense_month_totals', 'month', source);
    -- a key whose last expense left is deleted, never kept at zero
    DELETE FROM expense_day_totals WHERE n = 0;
    DELETE FROM expense_month_totals WHERE n = 0;
    RETURN NULL;
END
$fn$
"""

REBUILD_FUNCTION = """
CREATE FUNCTION expense_totals_rebuild(business_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM expense_day_totals WHERE business_id = ANY(business_ids);
    DELETE FROM expense_month_totals WHERE business_id = ANY(business_ids);
    INSERT INTO expense_day_totals (business_id, day, team_id, category_id, currency, status,
                                    home_currency, total_minor, n)
    SELECT e.business_id, timezone(b.timezone, e.spent_at)::date, e.team_id, e.category_id,
           e.currency, e.status, e.home_currency, sum(e.home_amount_minor), count(*)
    FROM expenses e JOIN businesses b ON b.id = e.business_id
    WHERE e.business_id = ANY(business_ids) AND e.deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    INSERT INTO expense_month_totals (business_id, month, team_id, category_id, currency,
                                      status, home_currency, total_minor, n)
    SELECT business_id, date_trunc('month', day)::date, team_id, category_id, currency,
           status, home_currency, sum(total_minor), sum(n)
    FROM expense_day_totals WHERE business_id = ANY(business_ids)
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
END
$fn$
"""

TIMEZONE_FUNCTION = """
CREATE FUNCTION businesses_timezone_rebuild() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM expense_totals_rebuild(ARRAY[NEW.id]);
    RETURN NULL;
END
$fn$
"""

TRUNCATE_FUNCTION = """
CREATE FUNCTION expense_totals_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE ... CASCADE from businesses may be truncating
    -- the rollups in this very statement
    DELETE FROM expense_day_totals;
    DELETE FROM expense_month_totals;
    RETURN NULL;
END
$fn$
"""

TRIGGERS = (
    "CREATE TRIGGER trg_expenses_totals_insert AFTER INSERT ON expenses"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION expense_totals_sync()",
    "CREATE TRIGGER trg_expenses_totals_update AFTER UPDATE ON expenses"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION expense_totals_sync()",
    "CREATE TRIGGER trg_expenses_totals_delete AFTER DELETE ON expenses"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION expense_totals_sync()",
    "CREATE TRIGGER trg_expenses_totals_truncate AFTER TRUNCATE ON expenses"
    " FOR EACH STATEMENT EXECUTE FUNCTION expense_totals_truncate()",
    "CREATE TRIGGER trg_businesses_timezone AFTER UPDATE OF timezone ON businesses"
    " FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)"
    " EXECUTE FUNCTION businesses_timezone_rebuild()",
)


def _create_table(name: str, period: str) -> None:
    op.create_table(
        name,
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column(period, sa.Date(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=True) for c in ("team_id", "category_id")),
        *(sa.Column(c, sa.Text(), nullable=False) for c in ("currency", "status", "home_currency")),
        sa.Column("total_minor", sa.Numeric(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        business_fk(name),
        sa.UniqueConstraint(
            "business_id",
            period,
            *KEY,
            name=op.f(f"uq_{name}_key"),
            postgresql_nulls_not_distinct=True,
            postgresql_include=["total_minor", "n"],
        ),
    )
    op.create_index(
        op.f(f"ix_{name}_empty"), name, ["business_id"], postgresql_where=sa.text("n = 0")
    )


def upgrade() -> None:
    for name, period in TABLES:
        _create_table(name, period)
    for function in (
        ADD_FUNCTION,
        SYNC_FUNCTION,
        REBUILD_FUNCTION,
        TIMEZONE_FUNCTION,
        TRUNCATE_FUNCTION,
    ):
        op.execute(function)
    # no expense may change between the backfill and the triggers taking over
    op.execute("LOCK TABLE expenses IN SHARE MODE")
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute("SELECT expense_totals_rebuild(ARRAY(SELECT id FROM businesses))")
    op.execute("ANALYZE expense_day_totals, expense_month_totals")


def downgrade() -> None:
    op.execute("DROP TRIGGER trg_businesses_timezone ON businesses")
    for trigger in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER trg_expenses_totals_{trigger} ON expenses")
    op.execute("DROP FUNCTION businesses_timezone_rebuild()")
    op.execute("DROP FUNCTION expense_totals_truncate()")
    op.execute("DROP FUNCTION expense_totals_sync()")
    op.execute("DROP FUNCTION expense_totals_rebuild(bigint[])")
    op.execute("DROP FUNCTION expense_totals_add_sql(text, text, text)")
    for name, _ in reversed(TABLES):
        op.drop_index(op.f(f"ix_{name}_empty"), table_name=name)
        op.drop_table(name)
