"""Query understanding, table by table: fiscal periods, companies, routes, topics, filters."""

from __future__ import annotations

from datetime import date

import pytest

from beacon_rag_query.domain import Company, QueryFilters, Route
from beacon_rag_query.periods import FiscalPeriod, parse_periods, period_from_label
from beacon_rag_query.understanding import CompanyMatcher, sensitive_topics, understand

TODAY = date(2024, 11, 25)  # in Q3FY25

CATALOGUE = [
    Company("RELIANCE.NS", "Reliance Industries Ltd.", "RELIANCE", "Energy"),
    Company("TCS.NS", "Tata Consultancy Services Ltd.", "TCS", "IT"),
    Company("INFY.NS", "Infosys Ltd.", "INFY", "IT"),
    Company("HDFCBANK.NS", "HDFC Bank Ltd.", "HDFCBANK", "Financial Services"),
    Company("HDFCLIFE.NS", "HDFC Life Insurance Company Ltd.", "HDFCLIFE", "Financial Services"),
    Company("TATASTEEL.NS", "Tata Steel Ltd.", "TATASTEEL", "Metals"),
    Company("TMPV.NS", "Tata Motors Passenger Vehicles Ltd.", "TMPV", "Auto"),
    Company("LT.NS", "Larsen & Toubro Ltd.", "LT", "Construction"),
    Company("M&M.NS", "Mahindra & Mahindra Ltd.", "M&M", "Auto"),
    Company("TECHM.NS", "Tech Mahindra Ltd.", "TECHM", "IT"),
    Company("ETERNAL.NS", "Eternal Ltd.", "ETERNAL", "Consumer Services"),
    Company("ITC.NS", "ITC Ltd.", "ITC", "FMCG"),
    Company("SBIN.NS", "State Bank of India", "SBIN", "Financial Services"),
]


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("revenue in FY2024", ["FY2024"]),
        ("revenue in FY24", ["FY2024"]),
        ("revenue in fy 24", ["FY2024"]),
        ("FY 2023-24 results", ["FY2024"]),
        ("FY2023-2024 results", ["FY2024"]),
        ("profit in 2023-24", ["FY2024"]),
        ("fiscal 2024", ["FY2024"]),
        ("fiscal year 2024", ["FY2024"]),
        ("financial year 2022-23", ["FY2023"]),
        ("Q3FY25 profit", ["Q3FY25"]),
        ("Q3 FY25 profit", ["Q3FY25"]),
        ("q3 fy2025 profit", ["Q3FY25"]),
        ("Q1 FY2024 and Q4FY24", ["Q1FY24", "Q4FY24"]),
        ("H1FY24 margins", ["H1FY24"]),
        ("H2 FY2024 margins", ["H2FY24"]),
        ("last quarter", ["Q2FY25"]),
        ("previous quarter", ["Q2FY25"]),
        ("this quarter", ["Q3FY25"]),
        ("last fiscal year", ["FY2024"]),
        ("last financial year", ["FY2024"]),
        ("current fiscal year", ["FY2025"]),
        ("FY2024 versus FY2023", ["FY2024", "FY2023"]),
        ("FY2024 and fiscal 2024", ["FY2024"]),
        ("revenue in 2024", []),  # a bare calendar year names no fiscal period
        ("COVID-19 impact", []),
        ("FY2023-25", []),  # not a one-year range
        ("sales in the third quarter of fiscal 2023", ["Q3FY23"]),  # not FY2023 as well
        ("the second fiscal quarter of 2023", ["Q2FY23"]),  # not counted from today
        ("the fourth quarter of fiscal year 2024 and FY2023", ["Q4FY24", "FY2023"]),
        ("the first half of fiscal 2025", ["H1FY25"]),
        ("the third quarter of 2023", []),  # a calendar quarter: ambiguous, no fiscal period
    ],
)
def test_periods(text, labels):
    assert [p.label for p in parse_periods(text, TODAY)] == labels


@pytest.mark.parametrize(
    ("today", "text", "label"),
    [
        (date(2024, 4, 1), "last quarter", "Q4FY24"),
        (date(2024, 3, 31), "last quarter", "Q3FY24"),
        (date(2024, 3, 31), "last fiscal year", "FY2023"),
        (date(2024, 4, 1), "last fiscal year", "FY2024"),
        (date(2025, 1, 10), "last quarter", "Q3FY25"),
        (date(2024, 10, 1), "last half", "H1FY25"),
    ],
)
def test_relative_periods_follow_the_april_to_march_year(today, text, label):
    assert [p.label for p in parse_periods(text, today)] == [label]


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("FY2024", date(2023, 4, 1), date(2024, 3, 31)),
        ("Q1FY24", date(2023, 4, 1), date(2023, 6, 30)),
        ("Q3FY25", date(2024, 10, 1), date(2024, 12, 31)),
        ("Q4FY25", date(2025, 1, 1), date(2025, 3, 31)),
        ("H1FY24", date(2023, 4, 1), date(2023, 9, 30)),
        ("H2FY24", date(2023, 10, 1), date(2024, 3, 31)),
    ],
)
def test_period_dates(label, start, end):
    period = period_from_label(label)
    assert (period.label, period.start, period.end) == (label, start, end)


def test_period_containment_and_search_labels():
    fy24 = FiscalPeriod(2024, "FY")
    assert fy24.contains(FiscalPeriod(2024, "Q", 3))
    assert not FiscalPeriod(2024, "Q", 3).contains(fy24)
    assert not fy24.overlaps(FiscalPeriod(2025, "Q", 1))
    assert fy24.search_labels() == ["FY2024", "Q4FY24"]
    assert FiscalPeriod(2024, "H", 2).search_labels() == ["H2FY24", "Q3FY24", "Q4FY24"]
    assert "2023-24" in fy24.text_variants() and "2024" in fy24.text_variants()


@pytest.fixture(scope="module")
def matcher() -> CompanyMatcher:
    return CompanyMatcher(CATALOGUE)


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("What was Reliance's revenue?", ["RELIANCE.NS"]),
        ("RIL capex plans", ["RELIANCE.NS"]),
        ("RELIANCE.NS EPS", ["RELIANCE.NS"]),
        ("Reliance Industries Limited annual report", ["RELIANCE.NS"]),
        ("Infosys attrition", ["INFY.NS"]),
        ("Infy deal wins", ["INFY.NS"]),
        ("TCS headcount", ["TCS.NS"]),
        ("tcs and infy", ["TCS.NS", "INFY.NS"]),
        ("Compare TCS and Infosys revenue growth", ["TCS.NS", "INFY.NS"]),
        ("Tata Consultancy Services order book", ["TCS.NS"]),
        ("HDFC Bank deposits", ["HDFCBANK.NS"]),
        ("HDFC Life premiums", ["HDFCLIFE.NS"]),
        ("HDFC results", []),  # shared by two companies: names neither
        ("Tata Motors vs Tata Steel", ["TMPV.NS", "TATASTEEL.NS"]),
        ("L&T order inflow", ["LT.NS"]),
        ("Larsen and Toubro order inflow", ["LT.NS"]),
        ("M&M tractors and Tech Mahindra margins", ["M&M.NS", "TECHM.NS"]),
        ("Eternal quarterly loss", ["ETERNAL.NS"]),
        ("Zomato quarterly loss", ["ETERNAL.NS"]),
        ("eternal truths of accounting", []),  # an ordinary word in lower case
        ("SBI loan book", ["SBIN.NS"]),
        ("ITC cigarette volumes", ["ITC.NS"]),
        ("What is the weather in Mumbai?", []),
    ],
)
def test_companies(matcher, text, symbols):
    assert matcher.find(text) == symbols


def test_request_symbols_resolve_to_catalogue_form(matcher):
    assert matcher.resolve("reliance") == "RELIANCE.NS"
    assert matcher.resolve("INFY.NS") == "INFY.NS"
    assert matcher.resolve("UNKNOWN") is None


@pytest.mark.parametrize(
    ("question", "route"),
    [
        ("What was Reliance's revenue in FY2024?", Route.VECTOR_STORE),
        ("Compare TCS and Infosys revenue growth", Route.VECTOR_STORE),
        ("What is the P/E ratio of Infosys?", Route.COMPANY_DATA),
        ("Reliance market cap", Route.COMPANY_DATA),
        ("TCS EPS last quarter", Route.COMPANY_DATA),
        ("Which bank had the lowest NPA in FY2024?", Route.VECTOR_STORE),
        ("What is the P/E ratio of a stock?", Route.VECTOR_STORE),  # no company: filings
        ("What is the weather in Mumbai?", Route.OUT_OF_SCOPE),
        ("Write me a poem about cats", Route.OUT_OF_SCOPE),
        # no catalogued company, but a reporting period or a company: searched, not refused
        ("What did the chief executive say about momentum in Q3 2024?", Route.VECTOR_STORE),
        ("What did the founder say in 3Q24?", Route.VECTOR_STORE),
        ("Which company opened the most stores?", Route.VECTOR_STORE),
    ],
)
def test_routes(matcher, question, route):
    assert understand(question, None, matcher, today=TODAY).route is route


def test_sensitive_topics_are_whole_phrases():
    topics = ["fraud", "insider information", "price target"]
    assert sensitive_topics("Is there a FRAUD investigation?", topics) == ["fraud"]
    assert sensitive_topics("Any insider   information on TCS?", topics) == ["insider information"]
    assert sensitive_topics("Fraudulent claims", topics) == []
    assert sensitive_topics("What is the price target for Infosys?", topics) == ["price target"]


def test_request_filters_override_what_the_question_says(matcher):
    reading = understand(
        "What was Infosys revenue in FY2024?",
        QueryFilters(company_symbol="TCS", fiscal_period="Q3FY25", document_types=["annual_report"]),
        matcher, today=TODAY,
    )
    assert reading.companies == ("TCS.NS",)
    assert [p.label for p in reading.periods] == ["Q3FY25"]
    assert reading.document_types == ("annual_report",)


def test_request_filters_merge_with_the_question(matcher):
    reading = understand(
        "What was Reliance's revenue?", QueryFilters(fiscal_period="FY2024"), matcher, today=TODAY
    )
    assert reading.companies == ("RELIANCE.NS",)
    assert reading.search_periods() == ["FY2024", "Q4FY24"]
    assert reading.company_names == ("Reliance Industries",)
    unknown = understand("revenue", QueryFilters(company_symbol="xyz.ns"), matcher, today=TODAY)
    assert unknown.companies == ("XYZ.NS",)
