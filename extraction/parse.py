"""Receipt text to fields: the TOTAL, its currency, the date and the merchant."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from extraction.amounts import amounts_in, currencies_in, exponent
from extraction.dates import find_dates, fold
from extraction.types import Found

# strongest first: "amount due" beats a plain "total" when both are printed
_TOTAL_WORDS = [
    (3, r"amount due|balance due|to pay|a payer|a pagar|zu zahlen|grand total|total ttc|total due"),
    (2, r"total|gesamt|summe|importe|montant|totale|totaal|betrag"),
]
_NOT_TOTAL = re.compile(
    r"sub[\s-]?total|zwischen|sous[\s-]?total|subtotaal|\btax|\bvat\b|mwst|ust\b|\btva\b|\biva\b"
    r"|\bht\b|\bnet\b|netto|items?\b|artikel|articles|discount|rabatt|remise|tip\b|pourboire"
)
_INCLUDING = re.compile(r"\bincl|\binkl|\bttc\b|including")
# payment lines print amounts larger than the total (cash handed over) or equal to it
_PAYMENT = re.compile(
    r"cash|tendered|change|given|bar\b|r[uü]ckgeld|rendu|esp[eè]ces|efectivo|cambio"
)

_SKIP_MERCHANT = re.compile(
    r"receipt|invoice|ticket|kassenbon|facture|factura|rechnung|quittung|beleg|re[cç]u|recibo|welcome"
    r"|\btel\b|phone|fax|vat|ust|tva|siret|siren|\bcif\b|\bnif\b|tax id|www\.|@|https?:|\.com\b"
    r"|\bstreet\b|\bst\.?$|\broad\b|\brd\b|\bave(nue)?\b|stra(ss|ß)e|\bstr\.|\brue\b|\bcalle\b|\bplatz\b"
    r"|\blane\b|\bplace\b|\bav\.",
)
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b|\b\d{4,5}\b")


@dataclass(frozen=True)
class ParsedFields:
    """The fields found in receipt text."""

    merchant: Found[str] | None
    spent_on: Found[date] | None
    total_minor: Found[int] | None
    currency: Found[str] | None


def parse_text(
    text: str, *, day_first: bool | None = None, known_merchants: Sequence[str] = ()
) -> ParsedFields:
    """Return the fields found in `text`; `day_first=None` means day-first unless USD."""
    currency = find_currency(text)
    code = currency.value if currency else None
    if day_first is None:
        day_first = code != "USD"
    return ParsedFields(
        merchant=find_merchant(text, known_merchants=known_merchants),
        spent_on=find_date(text, day_first=day_first),
        total_minor=find_total(text, currency=code),
        currency=currency,
    )


def find_currency(text: str) -> Found[str] | None:
    """Return the currency named most often, preferring the one on a TOTAL line."""
    counts = currencies_in(text)
    if not counts:
        return None
    code, confidence = counts.most_common(1)[0][0], 0.85
    for line in text.splitlines():
        if _total_strength(line) and (on_line := currencies_in(line)):
            code, confidence = on_line.most_common(1)[0][0], 0.95
            break
    if code == "USD" and "USD" not in text.upper():
        confidence = 0.6  # "$" alone could be any dollar
    return Found(code, confidence)


def _total_strength(line: str) -> int:
    folded = fold(line)
    for strength, words in _TOTAL_WORDS:
        if re.search(words, folded):
            if _NOT_TOTAL.search(folded) and not _INCLUDING.search(folded):
                return 0
            return strength
    return 0


def _blank_dates(line: str) -> str:
    # "30.11.26" and "14:05" are not amounts
    for found in find_dates(line, day_first=True):
        line = line[: found.start] + " " * (found.end - found.start) + line[found.end :]
    return re.sub(r"\d{1,2}:\d{2}(:\d{2})?", " ", line)


def find_total(text: str, *, currency: str | None) -> Found[int] | None:
    """Return the document's TOTAL in minor units of `currency`.

    A line labelled TOTAL (never SUBTOTAL, TAX or VAT) wins, the strongest label first and
    then the largest amount; failing that, the largest amount in the lower half, less sure.
    """
    exp = exponent(currency)
    lines = [_blank_dates(line) for line in text.splitlines()]
    labelled: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        strength = _total_strength(line)
        if not strength:
            continue
        amounts = amounts_in(line, exp)
        if not amounts and i + 1 < len(lines) and not re.search(r"[^\W\d_]{3}", lines[i + 1]):
            amounts = amounts_in(lines[i + 1], exp)  # the amount wrapped onto the next line
        if amounts and amounts[-1] > 0:
            labelled.append((strength, amounts[-1]))
    if labelled:
        _, amount = max(labelled)
        return Found(amount, 0.9 if currency else 0.75)
    lower = lines[len(lines) // 2 :]
    candidates = [
        amounts[-1]
        for line in lower
        if not _NOT_TOTAL.search(fold(line)) and not _PAYMENT.search(fold(line))
        if (amounts := amounts_in(line, exp))
    ]
    return Found(max(candidates), 0.4) if candidates else None


def find_date(text: str, *, day_first: bool) -> Found[date] | None:
    """Return the receipt's date: the first plausible one, sooner on a line saying "date"."""
    for line in text.splitlines():
        if re.search(r"date|datum|fecha|le\b", fold(line)):
            dates = find_dates(line, day_first=day_first)
            if dates:
                return Found(dates[0].value, 0.7 if dates[0].ambiguous else 0.95)
    dates = find_dates(text, day_first=day_first)
    if not dates:
        return None
    return Found(dates[0].value, 0.6 if dates[0].ambiguous else 0.85)


def _clean(line: str) -> str:
    line = re.sub(r"[^\w&'.\- ]+", " ", line).strip(" .-'")
    return re.sub(r"\s+", " ", line)


def _merchant_candidates(text: str) -> list[str]:
    """Return the meaningful lines at the top: not an address, phone, VAT number or title."""
    candidates = []
    for raw in text.splitlines()[:12]:
        line = _clean(raw)
        letters = sum(ch.isalpha() for ch in line)
        if letters < 3 or letters < len(line.replace(" ", "")) * 0.6:
            continue
        if (
            _SKIP_MERCHANT.search(fold(line))
            or _POSTCODE.search(line)
            or find_dates(raw, day_first=True)
        ):
            continue
        if _total_strength(raw) or amounts_in(raw, 2):
            break  # the items have started
        candidates.append(line)
    return candidates


def find_merchant(text: str, *, known_merchants: Sequence[str] = ()) -> Found[str] | None:
    """Return the merchant: the first meaningful top line, or the closest known merchant."""
    candidates = _merchant_candidates(text)
    if known_merchants:
        best = (0.0, "")
        for line in candidates[:4] or [_clean(raw) for raw in text.splitlines()[:6]]:
            for known in known_merchants:
                score = difflib.SequenceMatcher(None, fold(line), fold(known)).ratio()
                best = max(best, (score, known))
        if best[0] >= 0.6:
            return Found(best[1], round(best[0], 2))
    if not candidates:
        return None
    return Found(candidates[0], 0.6 if not known_merchants else 0.3)
