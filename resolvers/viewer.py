"""Who is asking, and their business."""

from db.rows import BusinessRow
from resolvers.context import Context, Principal


def viewer(ctx: Context) -> Principal:
    """Return the signed-in principal, or raise UNAUTHENTICATED."""
    principal, _ = ctx.require()
    return principal


async def viewer_business(ctx: Context) -> BusinessRow:
    """Return the viewer's business row."""
    principal, loaders = ctx.require()
    row = await loaders.business.load(principal.business_id)
    if row is None:  # the business was deleted while the request ran
        raise RuntimeError("business of an authenticated principal is missing")
    return row
