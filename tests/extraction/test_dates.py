from datetime import date

import pytest

from extraction.dates import find_dates, fold

NOV_30 = date(2026, 11, 30)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-30",
        "30/11/2026",
        "11/30/2026",  # 30 cannot be a month: unambiguous either way
        "30.11.26",
        "30-11-2026",
        "30 Nov 2026",
        "30-Nov-26",
        "30. November 2026",
        "30 novembre 2026",
        "30 de noviembre de 2026",
        "Nov 30, 2026",
        "November 30th 2026",
        "Datum: 30.11.2026 14:05",
    ],
)
def test_formats_and_month_names(text: str) -> None:
    [found] = find_dates(text, day_first=True)
    assert found.value == NOV_30


def test_month_names_with_accents_and_abbreviations() -> None:
    assert find_dates("12 März 2026", day_first=True)[0].value == date(2026, 3, 12)
    assert find_dates("1er février 2026", day_first=True)[0].value == date(2026, 2, 1)
    assert find_dates("3 déc. 2026", day_first=True)[0].value == date(2026, 12, 3)
    assert find_dates("Sept 9, 2026", day_first=True)[0].value == date(2026, 9, 9)


def test_ambiguous_day_and_month_follow_day_first() -> None:
    [dmy] = find_dates("05/04/2026", day_first=True)
    [mdy] = find_dates("05/04/2026", day_first=False)
    assert (dmy.value, mdy.value) == (date(2026, 4, 5), date(2026, 5, 4))
    assert dmy.ambiguous and mdy.ambiguous
    assert not find_dates("13/04/2026", day_first=False)[0].ambiguous


@pytest.mark.parametrize(
    "text", ["31/02/2026", "2026-13-01", "32 Nov 2026", "30 Foo 2026", "12/12/1890"]
)
def test_impossible_dates_are_rejected(text: str) -> None:
    assert find_dates(text, day_first=True) == []


def test_phone_numbers_and_times_are_not_dates() -> None:
    assert find_dates("Tel: +44 020 7946 0018  14:05", day_first=True) == []


def test_fold() -> None:
    assert fold("Février MÄRZ") == "fevrier marz"


def test_dates_never_span_lines() -> None:
    # an amount ending one line and a "Mon D, YYYY" date starting the next
    [found] = find_dates("CHANGE 1.01\nMar 27, 2026 07:07", day_first=True)
    assert found.value == date(2026, 3, 27)
    [found] = find_dates("CHANGE 2\nAug 22, 2026", day_first=True)
    assert found.value == date(2026, 8, 22)
