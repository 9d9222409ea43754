"""Receipts a test writes out by hand, with the totals the items and tax add up to."""

from datetime import date

from extraction.samples import SampleTruth


def adding_up(
    merchant: str,
    spent_on: date,
    currency: str,
    items: tuple[tuple[str, int], ...],
    *,
    tax_minor: int,
    date_format: str,
) -> SampleTruth:
    """Return an English receipt of the first layout whose subtotal and total add up."""
    subtotal = sum(price for _, price in items)
    return SampleTruth(
        merchant=merchant,
        spent_on=spent_on,
        currency=currency,
        items=items,
        subtotal_minor=subtotal,
        tax_minor=tax_minor,
        total_minor=subtotal + tax_minor,
        date_format=date_format,
        language="en",
        layout=0,
    )
