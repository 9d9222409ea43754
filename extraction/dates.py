"""Dates on receipts: numeric forms, ISO, and month names in English, German, French, Spanish."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_MONTH_NAMES = {
    "en": "january february march april may june july august september october november december",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}


def fold(text: str) -> str:
    """Return `text` lower-cased without accents ("Février" -> "fevrier")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _month_words() -> dict[str, int]:
    # every prefix of 3+ letters that names one month only ("jui" is June or July: left out)
    months: dict[str, set[int]] = {}
    for names in _MONTH_NAMES.values():
        for number, name in enumerate(names.split(), start=1):
            name = fold(name)
            for end in range(3, len(name) + 1):
                months.setdefault(name[:end], set()).add(number)
    words = {word: next(iter(ms)) for word, ms in months.items() if len(ms) == 1}
    words.update({"mrz": 3, "sept": 9, "dez": 12, "okt": 10})
    return words


MONTH_WORDS = _month_words()
_WORD = r"([^\W\d_]{3,12})\.?"  # a month's name; dates never span lines
_YEAR = r"(\d{4}|\d{2})"

_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<![\d.,])(\d{1,2})[./-](\d{1,2})[./-]" + _YEAR + r"(?![\d])")
# 30 Nov 2026, 30. November 2026, 30 novembre 2026, 30 de noviembre de 2026, 30-Nov-26
_DAY_MONTH = re.compile(
    r"(?<![\d.,])(\d{1,2})(?:er|st|nd|rd|th)?\.?[ \t-]*(?:de[ \t]+)?"
    + _WORD
    + r"[ \t,-]*(?:de[ \t]+)?"
    + _YEAR
    + r"(?!\d)"
)
# Nov 30, 2026 / November 30 2026
_MONTH_DAY = re.compile(_WORD + r"[ \t]+(\d{1,2})(?:st|nd|rd|th)?,?[ \t]+" + _YEAR + r"(?!\d)")


@dataclass(frozen=True)
class DateMatch:
    """A date found in text, where it was, and whether day and month could be swapped."""

    value: date
    start: int
    end: int
    ambiguous: bool


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if year < 100 else year


def _make(year: int, month: int, day: int) -> date | None:
    if not 2000 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str, *, day_first: bool) -> list[DateMatch]:
    """Return the plausible dates in `text` in reading order; impossible ones are left out."""
    found: list[DateMatch] = []
    for m in _ISO.finditer(text):
        value = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if value:
            found.append(DateMatch(value, m.start(), m.end(), False))
    for m in _NUMERIC.finditer(text):
        a, b, year = int(m.group(1)), int(m.group(2)), _year(m.group(3))
        dmy, mdy = _make(year, b, a), _make(year, a, b)
        if dmy and mdy and a != b:
            found.append(DateMatch(dmy if day_first else mdy, m.start(), m.end(), True))
        elif dmy or mdy:
            found.append(DateMatch(dmy or mdy, m.start(), m.end(), False))  # type: ignore[arg-type]
    for m in _DAY_MONTH.finditer(text):
        month = MONTH_WORDS.get(fold(m.group(2)))
        value = _make(_year(m.group(3)), month, int(m.group(1))) if month else None
        if value:
            found.append(DateMatch(value, m.start(), m.end(), False))
    for m in _MONTH_DAY.finditer(text):
        month = MONTH_WORDS.get(fold(m.group(1)))
        value = _make(_year(m.group(3)), month, int(m.group(2))) if month else None
        if value:
            found.append(DateMatch(value, m.start(), m.end(), False))
    found.sort(key=lambda d: d.start)
    return [d for i, d in enumerate(found) if not any(_overlaps(d, e) for e in found[:i])]


def _overlaps(a: DateMatch, b: DateMatch) -> bool:
    return a.start < b.end and b.start < a.end
