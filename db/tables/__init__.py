"""SQLAlchemy Core tables: the data model of DESIGN.md section 2, a module per domain.

Every table but ``businesses`` and ``fx_rates`` is keyed by ``business_id`` first, so
a row can never reference another business's row and every lookup starts on an index.
Importing any of the modules imports them all (foreign keys name their tables by string):
``metadata`` always holds every table.
"""

from db.tables import api, expense, feed, org, receipt
from db.tables.base import metadata

__all__ = ["api", "expense", "feed", "metadata", "org", "receipt"]
