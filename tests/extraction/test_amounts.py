import pytest

from extraction.amounts import amounts_in, currencies_in, exponent, to_minor


@pytest.mark.parametrize(
    ("token", "exp", "minor"),
    [
        ("12.50", 2, 1250),
        ("12,50", 2, 1250),
        ("1.234,56", 2, 123456),
        ("1,234.56", 2, 123456),
        ("1'234.50", 2, 123450),
        ("12.5", 2, 1250),
        ("1,234", 2, 123400),  # one group of three after a comma: thousands
        ("1,234", 0, 1234),
        ("1.234.567", 0, 1234567),
        ("12.345", 3, 12345),  # BHD has three decimals
        ("12.345", 2, 1234500),
        ("0.50", 2, 50),
        ("-3.20", 2, -320),
    ],
)
def test_to_minor_reads_separators_by_the_currency_exponent(
    token: str, exp: int, minor: int
) -> None:
    assert to_minor(token, exp) == minor


def test_exponents_of_the_small_table() -> None:
    assert [exponent(c) for c in ("GBP", "USD", "EUR", "JPY", "BHD", None, "XYZ")] == [
        2,
        2,
        2,
        0,
        3,
        2,
        2,
    ]


def test_currencies_by_symbol_and_code() -> None:
    found = currencies_in("TOTAL GBP 12.50\n£3.00 €1 ¥5 CHF 2.00 BHD 1.000 $4")
    assert found == {"GBP": 2, "EUR": 1, "JPY": 1, "CHF": 1, "BHD": 1, "USD": 1}
    assert not currencies_in("EURO GBPX")  # codes only as whole words


def test_amounts_in_a_line_skip_quantities_but_not_prices() -> None:
    assert amounts_in("2 x Coffee 3.50   7.00", 2) == [350, 700]
    assert amounts_in("Total GBP 12", 2) == [1200]  # a bare integer next to a code is an amount
    assert amounts_in("TOTAL ¥1,234", 0) == [1234]
    assert amounts_in("GESAMT 12,50 €", 2) == [1250]
    assert amounts_in("Table 12  Covers 3", 2) == []
