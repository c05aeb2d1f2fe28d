"""A catalogue for any listed company: admins add, update and retire single companies, CSV
imports upsert, symbols keep their suffix, any valid ISIN, per-company fiscal-year end."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from beacon_ingestion.api.app import create_app
from beacon_ingestion.api.common import ApiDeps
from beacon_ingestion.companies.catalogue import parse_constituents
from beacon_ingestion.companies.company_data import seed_catalogue_if_empty
from beacon_ingestion.companies.imports import InvalidImport
from beacon_ingestion.domain import parse_period, symbol_candidates, valid_isin
from beacon_ingestion.repository.memory import InMemoryIngestionRepository
from beacon_ingestion.settings import IngestionSettings

ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
USER = {"X-User-Id": "2", "X-User-Role": "user"}
APPLE = {"symbol": "AAPL", "name": "Apple Inc.", "legal_name": "Apple Inc.", "isin": "US0378331005",
         "aliases": ["Apple"], "fiscal_year_end_month": 9, "indices": ["S&P 500", "nasdaq100"],
         "sector": "Technology"}


@pytest.fixture
async def client():
    repo = InMemoryIngestionRepository()
    await seed_catalogue_if_empty(repo)
    app = create_app(ApiDeps(settings=IngestionSettings(), repo=repo))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingestion") as c:
        yield c


@pytest.mark.parametrize(("raw", "label", "end", "end_december"), [
    ("FY2024", "FY2024", date(2024, 3, 31), date(2024, 12, 31)),
    ("FY23", "FY2023", date(2023, 3, 31), date(2023, 12, 31)),
    ("FY2023-24", "FY2024", date(2024, 3, 31), date(2024, 12, 31)),
    ("Q2FY23", "Q2FY23", date(2022, 9, 30), date(2023, 6, 30)),
    ("Q2 2023", "Q2FY23", date(2022, 9, 30), date(2023, 6, 30)),
    ("2023Q2", "Q2FY23", date(2022, 9, 30), date(2023, 6, 30)),
    ("q4 fy2024", "Q4FY24", date(2024, 3, 31), date(2024, 12, 31)),
    ("H1FY24", "H1FY24", date(2023, 9, 30), date(2024, 6, 30)),
    ("H2 2024", "H2FY24", date(2024, 3, 31), date(2024, 12, 31)),
])
def test_fiscal_periods_as_filers_label_them_are_stored_canonically(raw, label, end, end_december):
    assert parse_period(raw).label == label
    assert parse_period(raw).end_date == end  # March year end (Indian)
    assert parse_period(raw, 12).end_date == end_december  # FY2018 of a December company is 2018


@pytest.mark.parametrize("raw", ["2023", "Q5FY24", "H3FY24", "FY2023-25", "FY1800", "Q2"])
def test_malformed_periods_are_refused(raw):
    with pytest.raises(ValueError):
        parse_period(raw)


def test_isins_of_any_country_with_a_valid_check_digit():
    assert all(valid_isin(i) for i in ("INE002A01018", "US0378331005", "GB0002634946", "DE0007164600"))
    assert not any(valid_isin(i) for i in ("US0378331006", "INE002A0101", "1NE002A01018", "INE002A01018X"))


def test_symbols_keep_their_suffix_and_a_bare_one_finds_the_indian_listings():
    assert symbol_candidates("aapl") == ["AAPL", "AAPL.NS", "AAPL.BO"]
    assert symbol_candidates("500325.bo") == ["500325.BO"]
    assert symbol_candidates("RELIANCE.NS") == ["RELIANCE.NS"]


def test_csv_rows_of_any_exchange():
    text = ("Company Name,Symbol,Exchange,ISIN Code,Fiscal Year End,Aliases,Indices,Legal Name\n"
            "Apple Inc.,AAPL,NASDAQ,US0378331005,Sep,Apple;iPhone maker,NASDAQ100,Apple Inc.\n"
            "Reliance Industries Ltd.,500325,BSE,INE002A01018,,RIL,SENSEX,\n"
            "Infosys Ltd.,INFY.NS,,INE009A01021,,,NIFTY 50|NIFTY IT,\n")
    rows = {r.company.symbol: r.company for r in parse_constituents(text)}
    assert set(rows) == {"AAPL", "500325.BO", "INFY.NS"}
    apple = rows["AAPL"]
    assert apple.fiscal_year_end_month == 9 and apple.indices == ["NASDAQ100"] and apple.nse_symbol is None
    assert apple.aliases[:2] == ["Apple", "iPhone maker"] and apple.legal_name == "Apple Inc."
    assert rows["500325.BO"].fiscal_year_end_month == 3 and rows["500325.BO"].aliases[0] == "RIL"
    assert rows["INFY.NS"].indices == ["NIFTY50", "NIFTYIT"] and rows["INFY.NS"].nse_symbol == "INFY"


def test_csv_errors_name_their_lines():
    text = ("Company Name,Symbol,ISIN Code,Fiscal Year End\n"
            "Apple Inc.,AAPL,US0378331005,\n"  # outside India: the year end is required
            "Bad Isin Ltd.,BAD,US0378331006,12\n"
            "Odd Month Co,ODD,,13\n")
    with pytest.raises(InvalidImport) as caught:
        parse_constituents(text)
    assert [(e.line, e.field) for e in caught.value.errors] == [
        (2, "Fiscal Year End"), (3, "ISIN Code"), (4, "Fiscal Year End")]


async def test_an_admin_adds_updates_and_retires_a_company(client):
    created = await client.post("/api/v1/admin/companies", json=APPLE, headers=ADMIN)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["symbol"] == "AAPL" and body["nse_symbol"] is None and body["isin"] == "US0378331005"
    assert body["fiscal_year_end_month"] == 9 and body["indices"] == ["S&P500", "NASDAQ100"]
    assert body["aliases"][0] == "Apple" and body["legal_name"] == "Apple Inc." and body["active"] is True

    again = await client.post("/api/v1/admin/companies", json=APPLE, headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"

    detail = (await client.get("/api/v1/companies/AAPL")).json()
    assert detail["name"] == "Apple Inc." and detail["latest_price"] is None

    patched = await client.patch("/api/v1/admin/companies/AAPL", headers=ADMIN,
                                 json={"aliases": ["Apple", "Cupertino"], "market_cap_rank": 1})
    assert patched.status_code == 200
    assert patched.json()["aliases"] == ["Apple", "Cupertino"] and patched.json()["market_cap_rank"] == 1
    assert patched.json()["fiscal_year_end_month"] == 9  # untouched fields stay

    internal = (await client.get("/internal/companies")).json()["companies"]
    assert next(c for c in internal if c["symbol"] == "AAPL")["fiscal_year_end_month"] == 9

    retired = await client.patch("/api/v1/admin/companies/AAPL", headers=ADMIN, json={"active": False})
    assert retired.status_code == 200 and retired.json()["active"] is False
    listed = (await client.get("/api/v1/companies", params={"limit": 100})).json()
    assert "AAPL" not in {c["symbol"] for c in listed["companies"]} and listed["total"] == 50
    assert "AAPL" not in {c["symbol"] for c in (await client.get("/internal/companies")).json()["companies"]}
    back = await client.patch("/api/v1/admin/companies/AAPL", headers=ADMIN, json={"active": True})
    assert back.json()["active"] is True


async def test_adding_companies_keeps_the_suffix_given_or_the_exchange_named(client):
    bse = await client.post("/api/v1/admin/companies", headers=ADMIN, json={
        "symbol": "532540", "exchange": "BSE", "name": "Tata Consultancy Services Ltd."})
    assert bse.status_code == 201 and bse.json()["symbol"] == "532540.BO"
    assert bse.json()["fiscal_year_end_month"] == 3  # Indian listing: March
    plain = await client.post("/api/v1/admin/companies", headers=ADMIN, json={
        "symbol": "sap.de", "name": "SAP SE", "isin": "DE0007164600", "fiscal_year_end_month": 12})
    assert plain.status_code == 201 and plain.json()["symbol"] == "SAP.DE"
    assert (await client.get("/api/v1/companies/532540")).json()["symbol"] == "532540.BO"
    # A bare NSE symbol still finds the seed's .NS listing.
    assert (await client.get("/api/v1/companies/RELIANCE")).json()["symbol"] == "RELIANCE.NS"


@pytest.mark.parametrize(("body", "field"), [
    ({"symbol": "AAPL", "name": "Apple Inc."}, "fiscal_year_end_month"),  # outside India
    ({**APPLE, "isin": "US0378331006"}, "isin"),
    ({**APPLE, "fiscal_year_end_month": 13}, "fiscal_year_end_month"),
    ({**APPLE, "symbol": "NOT A SYMBOL"}, "symbol"),
    ({**APPLE, "indices": ["bad/index"]}, "indices"),
    ({**APPLE, "colour": "blue"}, "colour"),
])
async def test_bad_companies_are_refused_with_the_field(client, body, field):
    response = await client.post("/api/v1/admin/companies", json=body, headers=ADMIN)
    assert response.status_code == 400, response.json()
    assert field in {d["field"].split(".")[-1] for d in response.json()["error"]["details"]}


async def test_company_admin_needs_the_admin_role_and_a_known_company(client):
    assert (await client.post("/api/v1/admin/companies", json=APPLE, headers=USER)).status_code == 403
    assert (await client.patch("/api/v1/admin/companies/TCS.NS", json={"name": "x"}, headers=USER)).status_code == 403
    missing = await client.patch("/api/v1/admin/companies/NOPE.NS", json={"name": "x"}, headers=ADMIN)
    assert missing.status_code == 404
    null_name = await client.patch("/api/v1/admin/companies/TCS.NS", json={"name": None}, headers=ADMIN)
    assert null_name.status_code == 400


async def test_a_csv_import_retires_only_the_rows_that_say_so_and_tags_an_index(client):
    text = ("Company Name,Symbol,Active\n"
            "Tata Consultancy Services Ltd.,TCS.NS,false\n"
            "Newco Ltd.,NEWCO.NS,true\n")
    response = await client.post("/api/v1/admin/companies/import", params={"index": "nifty next 50"},
                                 headers=ADMIN, files={"file": ("list.csv", text.encode(), "text/csv")})
    assert response.status_code == 200, response.json()
    assert response.json() == {"total": 2, "added": ["NEWCO.NS"], "updated": 1, "deactivated": ["TCS.NS"]}
    listed = {c["symbol"] for c in (await client.get("/api/v1/companies", params={"limit": 100})).json()["companies"]}
    assert "TCS.NS" not in listed and "NEWCO.NS" in listed and len(listed) == 50
    tagged = (await client.get("/api/v1/companies", params={"index": "NIFTYNEXT50"})).json()
    assert [c["symbol"] for c in tagged["companies"]] == ["NEWCO.NS"]
    tcs = (await client.get("/api/v1/companies/TCS.NS")).json()
    assert tcs["indices"] == ["NIFTY50", "NIFTYNEXT50"] and tcs["isin"]  # fields the file left out stay
