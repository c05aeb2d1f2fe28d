"""A company's fiscal calendar decides the dates a period label stands for."""

from __future__ import annotations

from datetime import date

from beacon_rag_query.asked import read_question
from beacon_rag_query.domain import Company
from beacon_rag_query.periods import FiscalPeriod, previous
from beacon_rag_query.understanding import CompanyMatcher, understand

MATCHER = CompanyMatcher([
    Company("ACME", "Acme Corporation", fiscal_year_end_month=12),
    Company("NVDA", "NVIDIA Corporation", fiscal_year_end_month=1),
    Company("RELIANCE.NS", "Reliance Industries Limited"),
])


def dates(question: str) -> list[tuple[str, date, date]]:
    reading = understand(question, None, MATCHER, today=date(2026, 12, 4))
    return [(p.label, p.start, p.end) for p in reading.periods]


def test_a_december_filers_fiscal_year_is_the_calendar_year():
    assert dates("What was Acme Corporation's revenue in FY2018?") == [
        ("FY2018", date(2018, 1, 1), date(2018, 12, 31))]


def test_an_indian_company_keeps_april_to_march():
    assert dates("What was Reliance Industries' revenue in FY2024?") == [
        ("FY2024", date(2023, 4, 1), date(2024, 3, 31))]


def test_a_january_filers_third_quarter_ends_in_october():
    assert dates("NVIDIA Corporation revenue Q3 FY2024") == [("Q3FY24", date(2023, 8, 1), date(2023, 10, 31))]


def test_the_year_before_stays_on_the_same_calendar():
    year = FiscalPeriod(2022, "FY", end_month=12)
    assert (previous(year).start, previous(year).end) == (date(2021, 1, 1), date(2021, 12, 31))
    assert previous(FiscalPeriod(2024, "Q", 1, 12)).label == "Q4FY23"


def test_the_asked_period_matches_a_december_balance_sheet_date():
    reading = understand("What were Acme Corporation's total assets at the end of FY2022?", None, MATCHER,
                         today=date(2026, 12, 4))
    asked = read_question(reading.question, reading.companies, reading.periods, entity_words=["Acme"])
    assert (asked.periods[0].end_year, asked.periods[0].end_month) == (2022, 12)


def test_the_trace_says_the_dates_understood():
    reading = understand("Acme Corporation net income FY2021", None, MATCHER, today=date(2026, 12, 4))
    assert reading.filters()["period_dates"] == [{"label": "FY2021", "start": "2021-01-01", "end": "2021-12-31"}]


def test_a_comparison_across_calendars_reads_each_companys_year_on_its_own():
    from beacon_rag_query.derived import find_figures
    from beacon_rag_query.domain import Evidence

    question = "Compare the total assets of Acme Corporation and Reliance Industries at the end of FY2022."
    reading = understand(question, None, MATCHER, today=date(2026, 12, 4))
    asked = read_question(reading.question, reading.companies, reading.periods,
                          entity_words=["Acme", "Reliance"], calendars=reading.calendars)
    assert [(p.end_year, p.end_month) for p in asked.periods_of("ACME")] == [(2022, 12)]
    assert [(p.end_year, p.end_month) for p in asked.periods_of("RELIANCE.NS")] == [(2022, 3)]
    acme = ("Consolidated Balance Sheet (in millions) \nParticulars December 31, 2022 December 31, 2021 \n"
            "Total assets 5,000 4,000")
    reliance = ("Consolidated Balance Sheet (₹ in crore) \nParticulars March 31, 2022 March 31, 2021 \n"
                "Total assets 8,000 7,000")
    evidence = [Evidence(1, acme, 1, "Acme 10-K", 40, "ACME", "FY2022", 0.5),
                Evidence(2, reliance, 2, "Reliance AR", 50, "RELIANCE.NS", "FY2022", 0.5)]
    found = find_figures(asked, evidence, {"ACME": "Acme", "RELIANCE.NS": "Reliance"})
    assert sorted(f.number for f in found.figures) == ["5,000", "8,000"] and not found.missing
    # each read off the column of its own year end, not matched by the year alone
    periods = {f.company: f.period for f in found.figures}
    assert "December 31, 2022" in periods["ACME"] and "March 31, 2022" in periods["RELIANCE.NS"]
