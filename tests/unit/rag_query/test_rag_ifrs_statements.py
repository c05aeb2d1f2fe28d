"""IFRS annual reports as ingestion's parser leaves them: each column's unit in its header
("As at 31 December 2022 (€000)"), "€000" headings in the text, "Consolidated 2022" columns."""

from __future__ import annotations

from datetime import date

from beacon_rag_query.answerer import compose
from beacon_rag_query.asked import read_question
from beacon_rag_query.derived import find_figures
from beacon_rag_query.domain import Evidence
from beacon_rag_query.periods import parse_periods
from beacon_rag_query.statements import read_rows
from beacon_rag_query.text import amounts

NAMES = {"ACME.L": "Acme"}
POSITION = (
    "CONSOLIDATED STATEMENT OF FINANCIAL POSITION - €000\n"
    "Particulars: Current assets\n"
    "Cash and cash equivalents (Note 10) | As at 31 December 2022 (€000): 5,890 | As at 31 December 2021 (€000): 10,556\n"
    "Total assets | As at 31 December 2022 (€000): 10,939 | As at 31 December 2021 (€000): 16,017"
)
CASH_FLOWS = (
    "CONSOLIDATED STATEMENT OF CASH FLOWS - €000\n"
    "Net (decrease) in cash and cash equivalents | Year ended 31 December 2022 (€000): (4,022) | "
    "Year ended 31 December 2021 (€000): (8,399)"
)
NOTE = (
    "5. ADMINISTRATIVE AND OTHER OPERATING EXPENSES – CORPORATE COSTS €000\n"
    "Salaries, bonuses and staff benefits | Consolidated 2022: 2,212 | Consolidated 2021: 2,918\n"
    "Corporate costs | Consolidated 2022: 3,271 | Consolidated 2021: 4,643"
)


def acme(*texts: str) -> list[Evidence]:
    return [Evidence(i, t, 5, "Acme plc Annual Report 2022", 40 + i, "ACME.L", "FY2022", 0.6)
            for i, t in enumerate(texts, 1)]


def answer(question: str, evidence: list[Evidence]) -> str:
    asked = read_question(question, ["ACME.L"], parse_periods(question, date(2023, 6, 1)),
                          entity_words=["Acme"])
    return compose(find_figures(asked, evidence, NAMES), NAMES)


def test_a_column_header_carries_its_unit_and_its_date():
    rows = {r.label: r for r in read_rows(POSITION, filing_period="FY2022")}
    total = rows["Total assets"]
    assert [c.text for c in total.cells] == ["10,939", "16,017"]
    assert [c.end for c in total.columns] == [date(2022, 12, 31), date(2021, 12, 31)]
    assert total.unit.render("10,939") == "€10,939 thousand"


def test_a_unit_heading_is_not_a_figure():
    assert not [r for r in read_rows(NOTE.split("\n")[0]) if any(c.text == "000" for c in r.cells)]
    assert amounts("CORPORATE COSTS €000 and £’000") == []


def test_consolidated_year_headers_are_year_columns():
    rows = {r.label: r for r in read_rows(NOTE, filing_period="FY2022")}
    assert [c.text for c in rows["Corporate costs"].columns] == ["2022", "2021"]


def test_total_assets_are_stated_in_the_statements_units():
    text = answer("What were Acme's total assets at 31 December 2022?", acme(POSITION))
    assert "€10,939 thousand" in text


def test_a_cash_balance_is_not_the_change_in_cash():
    text = answer("What was Acme's cash and cash equivalents balance at 31 December 2022?",
                  acme(CASH_FLOWS, POSITION))
    assert "5,890" in text and "4,022" not in text


def test_a_parents_own_statement_is_not_the_groups():
    parent = POSITION.replace("CONSOLIDATED STATEMENT", "COMPANY STATEMENT").replace("10,939", "5,810")
    rows = {r.label: r for r in read_rows(parent, filing_period="FY2022")}
    assert rows["Total assets"].scope == "standalone"
    text = answer("What were Acme's total assets at 31 December 2022?", acme(parent, POSITION))
    assert "10,939" in text and "5,810" not in text
