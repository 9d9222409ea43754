"""events: NOTIFY expensegraph_events with the business id when an event commits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:40:00.000000

Subscribers (app/subscriptions.py) listen on one connection per process and re-read the
feed of a business when told it changed. NOTIFY is delivered at commit, and PostgreSQL
folds identical notifications of one transaction into one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the tables' triggers are not in db/tables/ (tests/db/test_migrations.py compares tables)
CHANNEL = "expensegraph_events"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.business_id::text);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events"
        " FOR EACH ROW EXECUTE FUNCTION events_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER events_notify ON events")
    op.execute("DROP FUNCTION events_notify()")
