from datetime import date

import pytest
from beacon_ingestion.companies.catalogue import bundled_constituents_csv, parse_constituents
from beacon_ingestion.companies.imports import InvalidImport
from beacon_ingestion.companies.sentiment import score_sentiment
from beacon_ingestion.domain import fiscal_year_of, normalize_symbol, parse_period


@pytest.mark.parametrize(
    ("raw", "label", "ptype", "end"),
    [
        ("FY2024", "FY2024", "annual", date(2024, 3, 31)),
        ("fy24", "FY2024", "annual", date(2024, 3, 31)),
        ("FY2023-24", "FY2024", "annual", date(2024, 3, 31)),
        ("Q2FY25", "Q2FY25", "quarterly", date(2024, 9, 30)),
        ("Q1 FY2025", "Q1FY25", "quarterly", date(2024, 6, 30)),
        ("Q3FY25", "Q3FY25", "quarterly", date(2024, 12, 31)),
        ("Q4FY25", "Q4FY25", "quarterly", date(2025, 3, 31)),
    ],
)
def test_indian_fiscal_periods(raw, label, ptype, end):
    period = parse_period(raw)
    assert (period.label, period.period_type, period.end_date) == (label, ptype, end)


@pytest.mark.parametrize("raw", ["2024", "Q5FY25", "FY2023-25", "H3FY25", ""])
def test_invalid_periods_are_refused(raw):
    with pytest.raises(ValueError):
        parse_period(raw)


def test_fiscal_year_of_a_day():
    assert fiscal_year_of(date(2024, 5, 15)) == 2025
    assert fiscal_year_of(date(2024, 3, 31)) == 2024


def test_symbols_keep_the_suffix_they_were_given():
    assert normalize_symbol("reliance") == "RELIANCE"
    assert normalize_symbol("M&M.NS") == "M&M.NS"
    assert normalize_symbol("500325.bo") == "500325.BO"
    with pytest.raises(ValueError):
        normalize_symbol("DROP TABLE")


def test_bundled_catalogue_maps_industry_to_sector_and_invents_nothing():
    companies = [row.company for row in parse_constituents(bundled_constituents_csv())]
    assert len(companies) == 50
    reliance = next(c for c in companies if c.symbol == "RELIANCE.NS")
    assert reliance.nse_symbol == "RELIANCE" and reliance.isin == "INE002A01018"
    assert reliance.sector == "Oil Gas & Consumable Fuels"
    assert reliance.industry is None and reliance.market_cap_rank is None and reliance.website is None
    assert reliance.aliases == ["Reliance Industries", "RELIANCE"]
    infosys = next(c for c in companies if c.symbol == "INFY.NS")
    assert infosys.aliases == ["Infosys", "INFY"]
    tata = [c for c in companies if c.name.startswith("Tata ")]
    assert len(tata) > 1 and all("Tata" not in c.aliases for c in tata)  # ambiguous first word


def test_catalogue_errors_carry_line_numbers():
    text = ("Company Name,Industry,Symbol,Series,ISIN Code\n"
            "Good Ltd.,Energy,GOOD,EQ,INE002A01018\n"
            ",Energy,BAD!,EQ,XX\n"
            "Again Ltd.,Energy,GOOD,EQ,INE002A01018\n")
    with pytest.raises(InvalidImport) as caught:
        parse_constituents(text)
    found = {(e.line, e.field) for e in caught.value.errors}
    assert found == {(3, "Company Name"), (3, "Symbol"), (3, "ISIN Code"), (4, "Symbol")}


def test_missing_columns_are_reported():
    with pytest.raises(InvalidImport) as caught:
        parse_constituents("Name,Symbol\nX,Y\n")
    assert {e.field for e in caught.value.errors} == {"Company Name"}


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Reliance Q2 profit rises 5% to Rs 19,101 crore", "positive"),
        ("Tata Motors net loss narrows in Q3", "positive"),
        ("HDFC Bank NPAs rise sharply", "negative"),
        ("Infosys shares plunge after guidance cut", "negative"),
        ("Company announces date of board meeting", "neutral"),
        ("Profit did not rise this quarter", "negative"),
        ("Brokerage upgrades Wipro to buy on strong deal wins", "positive"),
        ("SEBI probe into accounting fraud; stock falls", "negative"),
    ],
)
def test_finance_aware_sentiment(text, label):
    result = score_sentiment(text)
    assert result.label == label
    assert -1 < result.score < 1
    assert (result.score > 0) == (label == "positive") or label != "positive"
