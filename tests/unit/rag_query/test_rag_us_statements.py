"""US 10-Q statement layouts: duration groups, month-day headers, fiscal labels read against
the filing's own period, quarter and year-to-date wording, US line-item names.

The passages are shortened from what ingestion's parser and chunker make of real Form 10-Q
pages (Apple's quarter ended July 1, 2023, page 4; NVIDIA's quarter ended October 29, 2023,
page 3; Amazon's quarter ended September 30, 2023, page 4), shapes kept as they arrive:
  * Apple: one flattened chunk, headers "Three Months Ended Nine Months Ended July 1, June 25,
    July 1, June 25," with no years anywhere on the page, "$" before some rows' figures, the
    "(In millions ...)" line in another chunk;
  * NVIDIA: the header line is a chunk of its own, the rows are labelled cells whose headers
    are only the years ("Revenue | 2023: 18,120 | 2022: 5,931 | ...");
  * Amazon: each duration group's heading is a chunk of its own ("Three Months Ended
    September 30," / "Nine Months Ended September 30,") and the cells run oldest year first.
"""

from __future__ import annotations

from datetime import date

import pytest

from beacon_rag_query.answerer import compose
from beacon_rag_query.asked import asked_periods, read_question
from beacon_rag_query.derived import find_figures
from beacon_rag_query.domain import Evidence
from beacon_rag_query.factcheck import fact_check
from beacon_rag_query.figures import evidence_rows
from beacon_rag_query.periods import FiscalPeriod, parse_periods
from beacon_rag_query.statements import read_rows

NAMES = {"AAPL": "Apple", "NVDA": "NVIDIA", "AMZN": "Amazon", "GOOGL": "Alphabet", "MSFT": "Microsoft"}

APPLE_TITLE = ("CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited) (In millions, except number "
               "of shares which are reflected in thousands and per share amounts)")
APPLE_SECTION = "Three Months Ended Nine Months Ended"
APPLE_ROWS = (
    "Three Months Ended Nine Months Ended July 1, June 25, July 1, June 25, Net sales: Products $ 60,584 "
    "$ 63,355 $ 230,901 $ 245,241 Services 21,213 19,604 62,886 58,941 Total net sales 81,797 82,959 "
    "293,787 304,182 Cost of sales: Products 39,136 41,485 146,696 155,084 Services 6,248 5,589 18,370 "
    "16,411 Total cost of sales 45,384 47,074 165,066 171,495 Gross margin 36,413 35,885 128,721 132,687 "
    "Operating expenses: Research and development 7,442 6,797 22,608 19,490 Operating income 22,998 "
    "23,076 87,332 94,543 Income before provision for income taxes 22,733 23,066 86,738 94,446 "
    "Provision for income taxes 2,852 3,624 12,699 15,364 Net income $ 19,881 $ 19,442 $ 74,039 "
    "$ 79,082 Earnings per share: Basic $ 1.27 $ 1.20 $ 4.69 $ 4.86 Diluted $ 1.26 $ 1.20 $ 4.67 $ 4.82"
)
NVDA_SECTION = "CONDENSED CONSOLIDATED STATEMENTS OF INCOME - (In millions, except per share data)"
NVDA_HEADER = NVDA_SECTION + "\nThree Months Ended Nine Months Ended October 29, October 30, October 29, October 30,"
NVDA_ROWS = NVDA_SECTION + """
Revenue | 2023: 18,120 | 2022: 5,931 | 2023: 38,819 | 2022: 20,923
Gross profit | 2023: 13,400 | 2022: 3,177 | 2023: 27,510 | 2022: 11,523
Operating income | 2023: 10,417 | 2022: 601 | 2023: 19,358 | 2022: 2,968
Income before income tax | 2023: 10,522 | 2022: 613 | 2023: 19,712 | 2022: 2,893
Income tax expense (benefit) | 2023: 1,279 | 2022: (67) | 2023: 2,237 | 2022: (61)
Net income | 2023: 9,243 | 2022: 680 | 2023: 17,475 | 2022: 2,954
Particulars: Net income per share:
Basic | 2023: 3.75 | 2022: 0.27 | 2023: 7.07 | 2022: 1.18
Diluted | 2023: 3.71 | 2022: 0.27 | 2023: 7.01 | 2022: 1.17"""
AMZN_SECTION = "CONSOLIDATED STATEMENTS OF OPERATIONS - (in millions, except per share data)"
AMZN_QUARTER = AMZN_SECTION + "\nThree Months Ended September 30,"
AMZN_NINE = AMZN_SECTION + "\nNine Months Ended September 30,"
AMZN_ROWS = AMZN_SECTION + """
Total net sales | 2022: 127,101 | 2023: 143,083 | 2022: 364,779 | 2023: 404,824
Operating income | 2022: 2,525 | 2023: 11,188 | 2022: 9,511 | 2023: 23,643
Income (loss) before income taxes | 2022: 2,944 | 2023: 12,189 | 2022: (4,974) | 2023: 23,871
Benefit (provision) for income taxes | 2022: (69) | 2023: (2,306) | 2022: 1,990 | 2023: (4,058)
Net income (loss) | 2022: 2,872 | 2023: 9,879 | 2022: (3,000) | 2023: 19,801
Diluted earnings per share | 2022: 0.28 | 2023: 0.94 | 2022: (0.29) | 2023: 1.89"""


def _page(symbol: str, period: str, title: str, *chunks: tuple[str, str]) -> list[Evidence]:
    return [Evidence(i, text, 3, title, 4, symbol, period, 0.5, section=section)
            for i, (text, section) in enumerate(chunks, 1)]


def apple() -> list[Evidence]:
    return _page("AAPL", "Q3FY23", "Apple 10-Q", (APPLE_TITLE, APPLE_TITLE), (APPLE_ROWS, APPLE_SECTION))


def nvidia() -> list[Evidence]:
    return _page("NVDA", "Q3FY24", "NVIDIA 10-Q", (NVDA_HEADER, NVDA_SECTION), (NVDA_ROWS, NVDA_SECTION))


def amazon(*, nine_months_heading: bool = True) -> list[Evidence]:
    chunks = [(AMZN_QUARTER, AMZN_SECTION), *([(AMZN_NINE, AMZN_SECTION)] if nine_months_heading else []),
              (AMZN_ROWS, AMZN_SECTION)]
    return _page("AMZN", "Q3FY23", "Amazon 10-Q", *chunks)


def ask(question: str, evidence: list[Evidence]) -> tuple[str, float | None]:
    symbol = evidence[0].company_symbol
    asked = read_question(question, [symbol], parse_periods(question, date(2026, 5, 1)),
                          entity_words=[NAMES[symbol]])
    text = compose(find_figures(asked, evidence, NAMES), NAMES)
    return text, fact_check(text, evidence, company_names=NAMES).faithfulness_score


def _cells(rows, label: str) -> list[tuple[str, int | None, date | None]]:
    row = next(s.row if hasattr(s, "row") else s for s in rows
               if (s.row if hasattr(s, "row") else s).label == label)
    return [(cell.text, column.months, column.end) for cell, column in zip(row.cells, row.columns, strict=True)]


# ---- columns -------------------------------------------------------------------------------

def test_month_day_headers_without_years_take_the_filings_year_per_group():
    rows = read_rows(APPLE_ROWS, section=APPLE_SECTION, filing_period="Q3FY23")
    assert _cells(rows, "Total net sales") == [
        ("81,797", 3, date(2023, 7, 1)), ("82,959", 3, date(2022, 6, 25)),
        ("293,787", 9, date(2023, 7, 1)), ("304,182", 9, date(2022, 6, 25))]


def test_a_header_chunk_of_its_own_dates_the_year_headed_cells():
    assert _cells(evidence_rows(nvidia()), "Operating income") == [
        ("10,417", 3, date(2023, 10, 29)), ("601", 3, date(2022, 10, 30)),
        ("19,358", 9, date(2023, 10, 29)), ("2,968", 9, date(2022, 10, 30))]


def test_group_headings_in_separate_chunks_make_one_header_shortest_group_first():
    # Retrieval may return the nine-months heading first; the statement prints it second.
    evidence = amazon()
    evidence = [evidence[1], evidence[0], evidence[2]]
    assert _cells(evidence_rows(evidence), "Operating income") == [
        ("2,525", 3, date(2022, 9, 30)), ("11,188", 3, date(2023, 9, 30)),
        ("9,511", 9, date(2022, 9, 30)), ("23,643", 9, date(2023, 9, 30))]


def test_a_missing_group_heading_is_not_read_as_the_other_groups():
    # Only "Three Months Ended September 30," reached the answerer: the repeating years say
    # there are two groups, so the second is the filing's year to date, not another quarter.
    assert [months for _, months, _ in _cells(evidence_rows(amazon(nine_months_heading=False)),
                                              "Net income (loss)")] == [3, 3, 9, 9]


# ---- questions ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Amazon net sales in Q3 2023", [("Q3FY23", 3, FiscalPeriod(2023, "Q", 3), None)]),
        ("Amazon net income 3Q23", [("Q3FY23", 3, FiscalPeriod(2023, "Q", 3), None)]),
        ("Apple's provision for income taxes for the first nine months of fiscal 2023",
         [("the first nine months of fiscal 2023", 9, None, 2023)]),
        ("Capgemini revenue in the first half of 2024", [("the first six months of fiscal 2024", 6, None, 2024)]),
    ],
)
def test_quarter_and_year_to_date_wording(question, expected):
    asked = asked_periods(question, parse_periods(question, date(2026, 5, 1)))
    assert [(a.label, a.months, a.fiscal, a.to_date) for a in asked] == expected


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # the filing's Q3 of fiscal 2023 ends July 1, 2023, not on an April-March calendar
        ("What was Apple's diluted earnings per share for the third quarter of fiscal 2023?",
         "Apple's consolidated diluted earnings per share in Q3FY23 was $1.26 [2]."),
        ("Apple net income Q3 fiscal 2022", "Apple's consolidated net income in Q3FY22 was $19,442 million [2]."),
        ("What was Apple's provision for income taxes for the first nine months of fiscal 2023?",
         "Apple's consolidated provision for income taxes in the nine months ended July 1, 2023 was "
         "$12,699 million [2]."),
        ("What were Apple's total net sales for the three months ended July 1, 2023?",
         "Apple's consolidated total net sales in the quarter ended July 1, 2023 were $81,797 million [2]."),
        ("What did Apple spend on research and development in the June 2023 quarter?",
         "Apple's consolidated research and development in the quarter ended July 1, 2023 was "
         "$7,442 million [2]."),
        ("What was Apple's income from operations in the first nine months of fiscal 2022?",
         "Apple's consolidated operating income in the nine months ended June 25, 2022 was $94,543 million [2]."),
        ("What was NVIDIA's operating income for the first nine months of fiscal 2024?",
         "NVIDIA's consolidated operating income in the first nine months of fiscal 2024 was 19,358 million [2]."),
        ("NVIDIA diluted EPS Q3 FY2024", "NVIDIA's consolidated diluted earnings per share in Q3FY24 was 3.71 [2]."),
        ("Amazon operating income 3Q22", "Amazon's consolidated operating income in Q3FY22 was 2,525 million [3]."),
        ("What were Amazon's total net sales in Q3 2023?",
         "Amazon's consolidated total net sales in Q3FY23 were 143,083 million [3]."),
        ("Amazon diluted earnings per share for the nine months ended September 30, 2023",
         "Amazon's consolidated diluted earnings per share in the nine months ended September 30, 2023 "
         "was 1.89 [3]."),
    ],
)
def test_us_line_items_for_the_asked_period(question, answer):
    company = next(name for name in NAMES.values() if name in question)
    evidence = {"Apple": apple, "NVIDIA": nvidia, "Amazon": amazon}[company]()
    text, faithfulness = ask(question, evidence)
    assert text == answer
    assert faithfulness == 1.0


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What were Apple's total net sales in Q3 2023?", "revenue"),
        ("What was Alphabet's income from operations in Q3 2024?", "operating_profit"),
        ("What was Apple's provision for income taxes in Q3 2023?", "tax"),
        ("What was NVIDIA's income before income taxes in Q3 FY2024?", "pbt"),
        ("What was NVIDIA's diluted net income per share in Q3 FY2024?", "eps"),
        ("What was Apple's gross margin in dollars for the quarter ended July 1, 2023?", "gross_profit"),
    ],
)
def test_us_line_item_wording(question, key):
    asked = read_question(question)
    assert asked.kind == "line_item" and asked.item is not None and asked.item.key == key


def test_us_derived_metrics_from_the_current_quarter():
    text, faithfulness = ask("What was NVIDIA's effective tax rate in Q3 FY2024?", nvidia())
    assert text.startswith("NVIDIA's consolidated effective tax rate in Q3FY24 was 12.2%: 1,279 / 10,522")
    assert faithfulness == 1.0
    text, _ = ask("By what percentage did Amazon's total net sales grow in Q3 2023 over Q3 2022?", amazon())
    assert "grew 12.6%" in text and "(143,083 − 127,101) / 127,101" in text


# ---- margins, parts of a total, shares of revenue (Apple's page 20 and page 4 shapes) ----------

APPLE_MARGINS = (
    "Three Months Ended Nine Months Ended July 1, June 25, July 1, June 25, Gross margin: Products $ 21,448 "
    "$ 21,870 $ 84,205 $ 90,157 Services 14,965 14,015 44,516 42,530 Total gross margin $ 36,413 $ 35,885 "
    "$ 128,721 $ 132,687 Gross margin percentage: Products 35.4 % 34.5 % 36.5 % 36.8 % Services 70.5 % "
    "71.5 % 70.8 % 72.2 % Total gross margin percentage 44.5 % 43.3 % 43.8 % 43.6 % Research and "
    "development $ 7,442 $ 6,797 $ 22,608 $ 19,490 Percentage of total net sales 9 % 8 % 8 % 6 %"
)


def test_a_percent_sign_apart_from_its_figure_is_one_cell():
    rows = {r.label: r for r in read_rows(APPLE_MARGINS, section=APPLE_SECTION, filing_period="Q3FY23")}
    total = rows["Total gross margin percentage"]
    assert [c.text for c in total.cells] == ["44.5%", "43.3%", "43.8%", "43.6%"] and total.percent
    assert not rows["Total gross margin"].percent  # a "margin" row of amounts


def test_a_printed_margin_percentage_not_the_amount_under_the_margins_name():
    evidence = apple() + [Evidence(3, APPLE_MARGINS, 3, "Apple 10-Q", 20, "AAPL", "Q3FY23", 0.5,
                                   section=APPLE_SECTION)]
    text, faithfulness = ask("What was Apple's gross margin percentage in the third quarter of fiscal 2023?",
                             evidence)
    assert text == "Apple's total gross margin percentage in Q3FY23 was 44.5% [3]."
    assert faithfulness == 1.0
    # Without the printed percentage it is computed from the amounts (and "margin 36,413" is a
    # figure, not a date, to the fact checker).
    text, faithfulness = ask("What was Apple's gross margin percentage in the third quarter of fiscal 2023?",
                             apple())
    assert text.startswith("Apple's consolidated gross margin in Q3FY23 was 44.5%: 36,413 / 81,797")
    assert faithfulness == 1.0
    # and an amount is never read off a row of percentages of sales
    text, _ = ask("What was Apple's total net sales in Q3 fiscal 2023?",
                  [Evidence(1, APPLE_MARGINS, 3, "Apple 10-Q", 21, "AAPL", "Q3FY23", 0.5, section=APPLE_SECTION)])
    assert "9%" not in text


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What was Apple's Services net sales in Q3 fiscal 2023?",
         "Apple's consolidated revenue of Services in Q3FY23 was $21,213 million [2]."),
        ("What was Apple's Services cost of sales in Q3 fiscal 2023?",
         "Apple's consolidated cost of goods sold of Services in Q3FY23 was $6,248 million [2]."),
    ],
)
def test_a_part_named_under_its_totals_heading(question, answer):
    text, _ = ask(question, apple())  # "Services" is a row under "Net sales:" and under "Cost of sales:"
    assert text == answer


def test_a_line_item_as_a_share_of_revenue():
    asked = read_question("What share of NVIDIA's revenue did research and development represent in Q3 FY2024?")
    assert asked.kind == "ratio" and asked.ratio is not None
    assert (asked.ratio.numerator, asked.ratio.denominator, asked.ratio.kind) == (
        "research_development", "revenue", "percent")
    assert read_question("What share of NVIDIA's revenue came from data center?").kind != "ratio"
    text, _ = ask("What share of Apple's total net sales did research and development represent in Q3 fiscal 2023?",
                  apple())
    assert text.startswith("Apple's consolidated research and development expenses as a share of revenue in "
                           "Q3FY23 was 9.1%: 7,442 / 81,797")


def test_what_drove_a_margin_is_a_narrative_question():
    assert read_question("What drove the change in Apple's Products gross margin percentage?").kind == "narrative"


# ---- cash flows and balance sheets (Amazon's page 3 and Alphabet's release page 4 shapes) ----

AMZN_CASH = AMZN_SECTION.replace("OPERATIONS - (in millions, except per share data)", "CASH FLOWS - (in millions)") + """
Particulars: OPERATING ACTIVITIES:
Adjustments to reconcile net income (loss) to net cash from operating activities: Depreciation and amortization of property and equipment and capitalized content costs, operating lease assets, and other | 2022: 10,327 | 2023: 12,131 | 2022: 29,236 | 2023: 34,843 | 2022: 39,103 | 2023: 47,528
Net cash provided by (used in) operating activities | 2022: 11,404 | 2023: 21,217 | 2022: 17,579 | 2023: 42,481 | 2022: 39,665 | 2023: 71,654
Particulars: INVESTING ACTIVITIES:
Purchases of property and equipment | 2022: (16,378) | 2023: (12,479) | 2022: (47,053) | 2023: (38,141) | 2022: (65,988) | 2023: (54,733)
Proceeds from property and equipment sales and incentives | 2022: 1,337 | 2023: 1,181 | 2022: 4,172 | 2023: 3,361 | 2022: 6,637 | 2023: 4,513"""


def test_us_cash_flow_wording_and_free_cash_flow():
    # Three groups (three and nine months, twelve months trailing), no headings retrieved.
    evidence = _page("AMZN", "Q3FY23", "Amazon 10-Q", (AMZN_CASH, AMZN_SECTION))
    text, _ = ask("What was Amazon's net cash provided by operating activities for the nine months ended "
                  "September 30, 2023?", evidence)
    assert "42,481" in text and "34,843" not in text
    text, faithfulness = ask("What was Amazon's free cash flow for the nine months ended September 30, 2023?",
                             evidence)
    assert "4,340" in text and "42,481 − 38,141" in text and faithfulness == 1.0


def test_a_balance_sheets_first_date_in_a_chunk_of_its_own():
    section = "As of"
    evidence = _page("GOOGL", "Q3FY24", "Alphabet release", ("As of December 31, 2023", section),
                     ("As of September 30, 2024 (unaudited) Assets Current assets: Cash and cash equivalents "
                      "$ 24,048 $ 19,959 Total current assets 171,530 157,541 Total assets $ 402,392 $ 430,266",
                      section))
    names = {**NAMES, "GOOGL": "Alphabet"}
    asked = read_question("What were Alphabet's total assets as of September 30, 2024?", ["GOOGL"],
                          entity_words=["Alphabet"])
    text = compose(find_figures(asked, evidence, names), names)
    assert text == "Alphabet's total assets as at September 30, 2024 were $430,266 [2]."


def test_the_same_quarter_a_year_before_ends_on_the_52_week_calendars_date():
    text, _ = ask("By how much did Apple's total net sales change in the quarter ended July 1, 2023 compared "
                  "with the same quarter of 2022, in percent?", apple())
    assert "fell 1.4%" in text and "(81,797 − 82,959) / 82,959" in text


# ---- reader misses on real pages: footnote marks, years in prose, segment rows and columns ----

NVDA_EPS_NOTE = """Particulars: (In millions, except per share data)
Particulars: Numerator:
Net income | 2023: 9,243 | 2022: 680 | 2023: 17,475 | 2022: 2,954
Particulars: Denominator:
Basic weighted average shares | 2023: 2,468 | 2022: 2,483 | 2023: 2,470 | 2022: 2,495
Diluted weighted average shares | 2023: 2,494 | 2022: 2,499 | 2023: 2,494 | 2022: 2,517
Particulars: Net income per share:
Basic (1) | 2023: 3.75 | 2022: 0.27 | 2023: 7.07 | 2022: 1.18
Diluted (2) | 2023: 3.71 | 2022: 0.27 | 2023: 7.01 | 2022: 1.17"""


def test_a_footnote_mark_does_not_hide_the_diluted_row():
    # NVIDIA's Note 5 page 12: "Diluted (2)" is the diluted row; "(2)" is a footnote mark.
    evidence = _page("NVDA", "Q3FY24", "NVIDIA 10-Q", (NVDA_EPS_NOTE, "Three Months Ended Nine Months Ended"))
    text, _ = ask("What was NVIDIA's diluted net income per share in the third quarter of fiscal 2024?", evidence)
    assert text == "NVIDIA's diluted earnings per share in Q3FY24 was 3.71 [1]."


NVDA_LIQUIDITY = (
    "As of October 29, 2023, we had $18.28 billion in cash, cash equivalents, and marketable securities, an "
    "increase of $4.99 billion from the end of fiscal year 2023. Cash provided by operating activities increased in the first nine months of fiscal year 2024 compared "
    "to the first nine months of fiscal year 2023, due to growth in revenue, partially offset by higher "
    "accounts receivable balance and taxes paid. Accounts receivable balance in the third quarter of fiscal "
    "year 2024 reflected approximately $570 million from customer payments received ahead of the invoice "
    "due date.")


def test_a_year_in_a_sentence_is_not_an_amount():
    # NVIDIA's MD&A page 33: "fiscal year 2024" was read as a row "... fiscal year" of $2024.
    rows = read_rows(NVDA_LIQUIDITY, section="Nine Months Ended", filing_period="Q3FY24")
    assert not any(cell.text == "2024" for row in rows for cell in row.cells)
    balance = NVDA_SECTION.replace("STATEMENTS OF INCOME", "BALANCE SHEETS") + (
        "\nAccounts receivable | October 29, 2023: 8,309 | January 29, 2023: 3,827")
    evidence = _page("NVDA", "Q3FY24", "NVIDIA 10-Q", (NVDA_LIQUIDITY, "Nine Months Ended"), (balance, NVDA_SECTION))
    text, _ = ask("What was NVIDIA's accounts receivable at the end of October 2023?", evidence)
    assert "8,309" in text and "2024" not in text


APPLE_SEGMENTS = (
    "Three Months Ended Nine Months Ended July 1, June 25, July 1, June 25, Segment operating income $ 32,090 "
    "$ 31,583 $ 114,983 $ 119,455 Research and development expense (7,442) (6,797) (22,608) (19,490) Other "
    "corporate expenses, net (1,650) (1,710) (5,043) (5,422) Total operating income $ 22,998 $ 23,076 "
    "$ 87,332 $ 94,543")


def test_the_segments_sum_is_not_the_companys_operating_income():
    # Apple's Note 13 page 16: the reconciliation of segment operating income to the total.
    evidence = _page("AAPL", "Q3FY23", "Apple 10-Q", (APPLE_SEGMENTS, APPLE_SECTION))
    text, _ = ask("What was Apple's operating income for the three months ended July 1, 2023?", evidence)
    assert "22,998" in text and "32,090" not in text
    text, _ = ask("What was Apple's segment operating income for the three months ended July 1, 2023?", evidence)
    assert "32,090" in text


AMZN_SEGMENTS = AMZN_SECTION + """
Particulars: North America
Net sales | 2022: 78,843 | 2023: 87,887 | 2022: 222,517 | 2023: 247,314
Operating income (loss) | 2022: (412) | 2023: 4,307 | 2022: (2,607) | 2023: 8,416
Particulars: International
Net sales | 2022: 27,720 | 2023: 32,137 | 2022: 83,544 | 2023: 90,957
Operating loss | 2022: (2,466) | 2023: (95) | 2022: (5,518) | 2023: (2,237)
Particulars: AWS
Net sales | 2022: 20,538 | 2023: 23,059 | 2022: 58,718 | 2023: 66,553
Operating income | 2022: 5,403 | 2023: 6,976 | 2022: 17,636 | 2023: 17,464
Particulars: Consolidated
Net sales | 2022: 127,101 | 2023: 143,083 | 2022: 364,779 | 2023: 404,824
Operating income | 2022: 2,525 | 2023: 11,188 | 2022: 9,511 | 2023: 23,643"""


@pytest.mark.parametrize(
    ("question", "expected", "wrong"),
    [
        ("What were Amazon's total net sales in the third quarter of 2023?", "143,083", "87,887"),
        ("What were Amazon's AWS net sales in the third quarter of 2023?", "23,059", "87,887"),
    ],
)
def test_a_label_repeated_under_group_headings_is_the_asked_groups(question, expected, wrong):
    # Amazon's Note 10 page 19: "Net sales" under each segment's heading, then "Consolidated";
    # the statement of operations ranked with it says "Total net sales" once.
    statement = "\n".join(line for line in AMZN_ROWS.splitlines() if not line.startswith("Total net sales"))
    evidence = _page("AMZN", "Q3FY23", "Amazon 10-Q", (AMZN_QUARTER, AMZN_SECTION), (AMZN_NINE, AMZN_SECTION),
                     (AMZN_SEGMENTS, "Nine Months Ended"), (statement, AMZN_SECTION))
    text, _ = ask(question, evidence)
    assert expected in text and wrong not in text


NVDA_SEGMENT_SECTION = "Networking Graphics All Other Consolidated"
NVDA_SEGMENTS = (
    "Networking Graphics All Other Consolidated (In millions) Three Months Ended October 29, 2023 Revenue "
    "$ 14,645 $ 3,475 $ — $ 18,120 Operating income (loss) $ 10,262 $ 1,493 $ (1,338) $ 10,417 Three Months "
    "Ended October 30, 2022 Revenue $ 3,816 $ 2,115 $ — $ 5,931 Operating income (loss) $ 1,086 $ 606 "
    "$ (1,091) $ 601 Nine Months Ended October 29, 2023 Revenue $ 29,507 $ 9,312 $ — $ 38,819 Operating "
    "income (loss) $ 19,149 $ 3,751 $ (3,542) $ 19,358 Nine Months Ended October 30, 2022 Revenue $ 11,395 "
    "$ 9,528 $ — $ 20,923 Operating income (loss) $ 3,509 $ 3,739 $ (4,280) $ 2,968")


@pytest.mark.parametrize(
    ("question", "expected", "wrong"),
    [
        ("What was NVIDIA's operating income for the first nine months of fiscal 2024?", "19,358", "19,149"),
        ("What was NVIDIA's revenue for the nine months ended October 29, 2023?", "38,819", "29,507"),
    ],
)
def test_columns_of_one_period_are_parts_and_their_total_last(question, expected, wrong):
    # NVIDIA's Note 16 page 23: the segments side by side under each period's heading.
    evidence = _page("NVDA", "Q3FY24", "NVIDIA 10-Q", (NVDA_SEGMENTS, NVDA_SEGMENT_SECTION))
    text, _ = ask(question, evidence)
    assert expected in text and wrong not in text


BALANCE_TITLE = "CONSOLIDATED BALANCE SHEETS - (In millions, except par value per share amounts)"


@pytest.mark.parametrize("section", ["As of", BALANCE_TITLE])
def test_a_balance_sheet_chunk_cut_inside_its_header_shows_its_last_column(section):
    # Alphabet's release page 4: the chunk before ends "As of December 31, 2023"; this one
    # starts with the second column's header (after the statement's title, which ingestion
    # puts at the head of every chunk of the page). Its date is not the first column's.
    chunk = ("As of September 30, 2024 (unaudited) Assets Current assets: Cash and cash equivalents $ 24,048 "
             "$ 19,959 Total current assets 171,530 157,541 Total assets $ 402,392 $ 430,266")
    if section == BALANCE_TITLE:
        chunk = f"{BALANCE_TITLE}\n{chunk}"
    rows = read_rows(chunk, section=section, filing_period="Q3FY24")
    total = next(r for r in rows if r.label == "Total assets")
    assert [(cell.text, column.end if column else None) for cell, column in zip(total.cells, total.columns, strict=True)
            ] == [("402,392", None), ("430,266", date(2024, 9, 30))]
    assert not any(r.label.startswith("CONSOLIDATED") for r in rows)  # the title is not a row
    names = {**NAMES, "GOOGL": "Alphabet"}
    asked = read_question("What were Alphabet's total assets as of September 30, 2024?", ["GOOGL"],
                          entity_words=["Alphabet"])
    # other pages of the filing date their columns with both years
    other = ("Three Months Ended September 30, 2023 2024 Revenues $ 76,693 $ 88,268 "
             "As of December 31, 2023 September 30, 2024 Cash 24,048 19,959")
    text = compose(find_figures(asked, _page("GOOGL", "Q3FY24", "Alphabet release", (chunk, section),
                                              (other, "Notes")), names), names)
    assert "430,266" in text and "402,392" not in text


def test_a_duration_header_at_a_chunks_start_is_not_read_as_cut():
    # NVIDIA's MD&A page 27: three periods and two change columns under one header; its dates
    # are not the last columns'.
    chunk = ("Three Months Ended October 29, 2023 July 30, 2023 October 30, Quarter-over-Quarter Change "
             "Year-over-Year Change ($ in millions, except per share data) Revenue $ 18,120 $ 13,507 $ 5,931 "
             "34 % 206 % Operating income $ 10,417 $ 6,800 $ 601 53 % 1,633 %")
    income = next(r for r in read_rows(chunk, section="Three Months Ended", filing_period="Q3FY24")
                  if r.label == "Operating income")
    assert [c.text for c in income.cells][3] == "53%"
    assert income.columns[3] is None or income.columns[3].end != date(2023, 10, 29)


def test_a_headcount_on_a_page_in_millions_is_people_not_millions():
    page = _page("AAPL", "Q3FY23", "Apple 10-Q", (APPLE_TITLE, APPLE_TITLE),
                 ("Total net sales 81,797 82,959 Number of employees 161,000 164,000", APPLE_SECTION))
    rows = {s.row.label: s.row for s in evidence_rows(page)}
    assert rows["Total net sales"].unit.scale == "million"
    assert rows["Number of employees"].unit is None


def test_a_columns_currency_and_the_titles_scale_make_one_unit():
    # ingestion writes the "$" it drops from "$ 294,866" into the column headers
    title = ("CONSOLIDATED STATEMENTS OF OPERATIONS - (In millions, except number of shares, which are "
             "reflected in thousands, and per-share amounts)")
    chunk = (f"{title}\nParticulars: Net sales:\n"
             "Total net sales | Years ended September 28, 2024 ($): 391,035 | September 30, 2023 ($): 383,285")
    (row,) = read_rows(chunk, section=title, title="Apple 10-K")
    assert (row.unit.currency, row.unit.scale) == ("$", "million")
    assert row.columns[0].end == date(2024, 9, 28)
    text, score = ask("What were Apple's total net sales for the year ended September 28, 2024?",
                      _page("AAPL", "FY2024", "Apple 10-K", (chunk, title)))
    assert "$391,035 million" in text and score == 1.0


def test_selling_general_and_administrative_is_not_revenue():
    # NVIDIA's MD&A table of each line as a percentage of revenue: no revenue amount in it
    chunk = ("Three Months Ended Nine Months Ended October 29, October 30, October 29, October 30, Revenue "
             "100.0 % 100.0 % 100.0 % 100.0 % Research and development 12.7 32.8 16.0 25.7 "
             "Sales, general and administrative 3.8 10.6 5.0 8.7")
    text, _ = ask("What was NVIDIA's revenue for the third quarter of fiscal 2024?",
                  _page("NVDA", "Q3FY24", "NVIDIA 10-Q", (chunk, "Three Months Ended Nine Months Ended")))
    assert "general and administrative" not in text and "10.6" not in text


def test_a_segment_named_with_the_companys_own_name_is_the_segments_figure():
    # Alphabet's release, segment table: "Google" is the company's alias, and the question's
    # words lose it, but the row "Google Cloud" is still the part the question names.
    segments = ("Segment Results The following table presents our segment revenues and operating income "
                "(loss) (in millions; unaudited): Quarter Ended September 30,\n"
                "Particulars: Revenues:\nGoogle Services | 2023 ($): 67,986 | 2024 ($): 76,510\n"
                "Google Cloud | 2023 ($): 8,411 | 2024 ($): 11,353\n"
                "Total revenues | 2023 ($): 76,693 | 2024 ($): 88,268")
    statement = (f"{AMZN_SECTION}\nRevenues | 2023 ($): 76,693 | 2024 ($): 88,268")
    evidence = _page("GOOGL", "Q3FY24", "Alphabet release", (statement, AMZN_SECTION), (segments, "Segment Results"))
    names = {"GOOGL": "Alphabet"}
    question = "What were Google Cloud revenues for the quarter ended September 30, 2024?"
    asked = read_question(question, ["GOOGL"], entity_words=["Alphabet", "Google"])
    text = compose(find_figures(asked, evidence, names), names)
    assert "$11,353 million" in text and "88,268" not in text
    whole = read_question("What were Google's revenues for the quarter ended September 30, 2024?", ["GOOGL"],
                          entity_words=["Alphabet", "Google"])
    assert "$88,268 million" in compose(find_figures(whole, evidence, names), names)


def test_a_month_day_the_document_writes_with_two_years_takes_the_groups_order():
    # NVIDIA's MD&A: "October 29, October 30," without years; the 10-Q writes October 29 with
    # 2023 only, October 30 with 2022 (the year-ago quarter) and with 2023 (other dates).
    chunk = ("Three Months Ended Nine Months Ended October 29, October 30, October 29, October 30, "
             "Research and development 2,294 1,945 6,210 5,387")
    known = {(10, 29): {2023}, (10, 30): {2022, 2023}}
    (row,) = read_rows(chunk, section="Three Months Ended Nine Months Ended", filing_period="Q3FY24",
                       known_dates=known)
    assert [(c.months, c.end) for c in row.columns] == [
        (3, date(2023, 10, 29)), (3, date(2022, 10, 30)), (9, date(2023, 10, 29)), (9, date(2022, 10, 30))]


def test_a_headcount_under_dollar_headed_columns_is_people():
    chunk = (f"{AMZN_SECTION}\nNumber of employees | 2023 ($): 182,381 | 2024 ($): 181,269\n"
             "Revenues | 2023 ($): 76,693 | 2024 ($): 88,268")
    rows = {s.row.label: s.row for s in evidence_rows(_page("GOOGL", "Q3FY24", "Alphabet release",
                                                            (chunk, AMZN_SECTION)))}
    assert rows["Number of employees"].unit is None
    assert (rows["Revenues"].unit.currency, rows["Revenues"].unit.scale) == ("$", "million")


def test_a_chunk_whose_columns_say_dollars_takes_the_pages_scale_from_another_chunk():
    # the scale is in one chunk's section only (its title line), not in any passage's text
    unit_chunk = ("Net income | 2023: 72,361 | 2022: 72,738", "INCOME STATEMENTS - (In millions)")
    rows_chunk = ("Net cash from operations | 2023 ($): 87,582 | 2022 ($): 89,035", "CASH FLOWS STATEMENTS")
    rows = {s.row.label: s.row for s in evidence_rows(_page("MSFT", "FY2023", "Microsoft 10-K", unit_chunk, rows_chunk))}
    assert (rows["Net cash from operations"].unit.currency, rows["Net cash from operations"].unit.scale) == (
        "$", "million")


def test_a_one_digit_year_ago_cell_is_a_misread_not_a_base_for_growth():
    chunk = (f"{AMZN_SECTION}\nTotal revenue | 2023 ($): 56,517 | 2022 ($): 1")
    text, _ = ask("By how much did Amazon's total revenue grow in the quarter ended September 30, 2023?",
                  _page("AMZN", "Q3FY23", "Amazon 10-Q", (chunk, AMZN_SECTION)))
    assert "5651600" not in text and "56,517" in text


def test_a_margin_that_expanded_by_points_is_a_change_not_the_margin():
    prose = ("Alphabet Inc. announced results for the quarter ended September 30, 2024. Operating income "
             "increased 34% and operating margin percent expanded by 4.5 percentage points to 32%.")
    text, _ = ask("What was Alphabet's operating margin for the quarter ended September 30, 2024?",
                  _page("GOOGL", "Q3FY24", "Alphabet release", (prose, "Alphabet Announces Results")))
    assert "4.5" not in text
