from datetime import date

import pytest

from extraction.parse import find_currency, find_date, find_merchant, find_total, parse_text

RECEIPT = """\
RECEIPT
Harbour Fish Bar
12 High Street
London SW1A 1AA
Tel: 020 7946 0018
VAT No: GB123456789
Date: 30/11/2026 13:05
2 x Cod and chips   2 @ 8.50   17.00
Mushy peas                      2.50
SUBTOTAL                       19.50
VAT 20%                         3.90
TOTAL                         £23.40
CASH                          £50.00
CHANGE                        £26.60
"""


def test_a_whole_receipt() -> None:
    fields = parse_text(RECEIPT)
    assert fields.merchant and fields.merchant.value == "Harbour Fish Bar"
    assert fields.spent_on and fields.spent_on.value == date(2026, 11, 30)
    assert fields.total_minor and fields.total_minor.value == 2340
    assert fields.currency and fields.currency.value == "GBP"


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("SUBTOTAL 19.50\nTAX 3.90\nTOTAL 23.40", "USD", 2340),
        ("TOTAL 23.40\nSUBTOTAL 19.50", "USD", 2340),
        ("Sub-total 99.00\nTotal 23.40", "GBP", 2340),  # SUBTOTAL is never the total
        ("Total tax 9.00\nTotal 23.40", "GBP", 2340),  # neither is a tax line
        ("Zwischensumme 10,00\nMwSt 19% 1,90\nGesamt 11,90 €", "EUR", 1190),
        ("Sous-total 10,00\nTVA 20% 2,00\nTotal TTC 12,00 €", "EUR", 1200),
        ("Subtotal 10,00\nIVA 21% 2,10\nImporte 12,10", "EUR", 1210),
        ("Total HT 10,00\nTotal TTC 12,00", "EUR", 1200),
        ("TOTAL 12.00\nAMOUNT DUE 10.00", "USD", 1000),  # after a discount: what is due wins
        ("Total (incl. VAT) 23.40", "GBP", 2340),
        ("TOTAL\n23.40", "GBP", 2340),  # the amount wrapped onto the next line
        ("TOTAL ¥1,234", "JPY", 1234),
        ("TOTAL BHD 12.345", "BHD", 12345),
        ("GESAMT 1.234,56 €", "EUR", 123456),
        ("TOTAL $1,234.56", "USD", 123456),
        ("Total items 3\nTOTAL 9.99", "USD", 999),
    ],
)
def test_the_total_line(text: str, currency: str, minor: int) -> None:
    found = find_total(text, currency=currency)
    assert found and found.value == minor
    assert found.confidence >= 0.75


def test_without_a_total_label_the_largest_amount_near_the_bottom_is_less_sure() -> None:
    text = "Shop\nCoffee 3.50\nCake 4.00\nVAT 20% 2.50\n\n12.50\nCASH 20.00\nThanks"
    found = find_total(text, currency="GBP")
    assert found and found.value == 1250  # not the VAT line, not the cash handed over
    assert found.confidence < 0.5


def test_no_amount_no_total() -> None:
    assert find_total("Hello\nworld", currency="GBP") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("TOTAL £12.50", "GBP"),
        ("TOTAL 12,50 €", "EUR"),
        ("GBP 12.50", "GBP"),
        ("Total CHF 12.50", "CHF"),
        ("Coffee €3\nTOTAL USD 12.00", "USD"),  # the total line's currency wins
        ("TOTAL ¥1,200", "JPY"),
    ],
)
def test_currency(text: str, code: str) -> None:
    found = find_currency(text)
    assert found and found.value == code


def test_a_lone_dollar_sign_is_less_sure() -> None:
    dollar, usd = find_currency("Total $5.00"), find_currency("Total 5.00 USD")
    assert dollar and usd and dollar.confidence < usd.confidence


def test_no_currency() -> None:
    assert find_currency("TOTAL 12.50") is None


def test_day_first_defaults_to_month_first_for_dollars() -> None:
    assert (
        parse_text("TOTAL $5.00\n05/04/2026").spent_on
        == parse_text("05/04/2026", day_first=False).spent_on
    )
    gbp = parse_text("TOTAL £5.00\n05/04/2026").spent_on
    assert gbp and gbp.value == date(2026, 4, 5) and gbp.confidence < 0.9


def test_a_date_on_a_date_line_wins_over_others() -> None:
    found = find_date("Valid until 01/01/2027\nDate: 2026-11-30", day_first=True)
    assert found and found.value == date(2026, 11, 30)


def test_merchant_skips_titles_addresses_phones_and_vat_numbers() -> None:
    text = "TAX INVOICE\n**** Welcome ****\n1 Rue de la Paix\n75002 Paris\nTel 01 42 60 00 00\nTVA FR123\nCafé de Flore\nCafé 3,50"
    found = find_merchant(text)
    assert found and found.value == "Café de Flore"


def test_merchant_stops_at_the_items() -> None:
    assert find_merchant("RECEIPT\n2026-11-30\nCoffee 3.50\nTOTAL 3.50") is None


def test_known_merchants_normalise_ocr_mistakes() -> None:
    found = find_merchant(
        "BLUE B0TTLE C0FFEE\n1 Market St", known_merchants=["Blue Bottle Coffee", "Pret"]
    )
    assert found and found.value == "Blue Bottle Coffee"
    assert 0.6 <= found.confidence < 1


def test_an_unknown_merchant_keeps_the_line_with_less_confidence() -> None:
    found = find_merchant("Zeta Widgets Ltd\nTOTAL 3.00", known_merchants=["Blue Bottle Coffee"])
    assert found and found.value == "Zeta Widgets Ltd" and found.confidence <= 0.3
