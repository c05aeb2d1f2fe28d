"""The company and admin-import endpoints of the internal app, over the in-memory repository."""

from __future__ import annotations

import json

import httpx
import pytest
from beacon_ingestion.api.app import create_app
from beacon_ingestion.api.common import ApiDeps
from beacon_ingestion.companies.company_data import seed_catalogue_if_empty
from beacon_ingestion.repository.memory import InMemoryIngestionRepository
from beacon_ingestion.settings import IngestionSettings

ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
USER = {"X-User-Id": "2", "X-User-Role": "user"}


@pytest.fixture
async def client():
    repo = InMemoryIngestionRepository()
    assert await seed_catalogue_if_empty(repo)
    assert not await seed_catalogue_if_empty(repo)  # only when empty
    app = create_app(ApiDeps(settings=IngestionSettings(), repo=repo))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingestion") as c:
        yield c


async def test_list_companies_with_sector_filter_and_limit(client):
    body = (await client.get("/api/v1/companies", params={"limit": 100})).json()
    assert body["total"] == 50 and len(body["companies"]) == 50
    first = body["companies"][0]
    assert set(first) == {"id", "symbol", "name", "sector", "industry", "market_cap_rank"}
    it = (await client.get("/api/v1/companies", params={"sector": "Information Technology"})).json()
    assert it["total"] >= 4 and {c["sector"] for c in it["companies"]} == {"Information Technology"}
    assert "TCS.NS" in {c["symbol"] for c in it["companies"]}
    two = (await client.get("/api/v1/companies", params={"limit": 2})).json()
    assert two["total"] == 50 and len(two["companies"]) == 2
    bad = await client.get("/api/v1/companies", params={"limit": 0})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert bad.json()["error"]["details"][0]["field"] == "limit"


async def test_company_detail_without_data_has_nulls(client):
    body = (await client.get("/api/v1/companies/RELIANCE.NS")).json()
    assert body["symbol"] == "RELIANCE.NS" and body["nse_symbol"] == "RELIANCE"
    assert body["isin"] == "INE002A01018" and body["bse_code"] is None and body["website"] is None
    assert body["latest_fundamentals"] is None and body["latest_price"] is None
    assert (await client.get("/api/v1/companies/reliance")).json()["symbol"] == "RELIANCE.NS"
    missing = await client.get("/api/v1/companies/NOPE.NS")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "NOT_FOUND", "message": "Company NOPE.NS not found",
                                        "details": []}, "request_id": None}


FUNDAMENTALS_CSV = """symbol,period,revenue,net_income,eps,pe_ratio,roe,debt_to_equity,market_cap
RELIANCE.NS,Q2FY25,258027000000000,19101000000000,141.56,25.3,0.089,0.42,19500000000000000
RELIANCE.NS,Q1FY25,257823000000000,17445000000000,128.9,27.1,0.081,0.43,
RELIANCE,FY2024,1000000000000000,79020000000000,116.8,24.0,0.09,0.4,
"""


async def test_fundamentals_import_then_detail_and_listing(client):
    response = await client.post("/api/v1/admin/fundamentals/import", content=FUNDAMENTALS_CSV,
                                 headers={**ADMIN, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"kind": "fundamentals", "imported": 3, "symbols": ["RELIANCE.NS"]}
    quarterly = (await client.get("/api/v1/companies/RELIANCE.NS/fundamentals",
                                  params={"period_type": "quarterly", "limit": 8})).json()
    assert quarterly["symbol"] == "RELIANCE.NS"
    assert [f["period"] for f in quarterly["fundamentals"]] == ["Q2FY25", "Q1FY25"]
    assert quarterly["fundamentals"][0] == {
        "period": "Q2FY25", "period_type": "quarterly", "period_end_date": "2024-09-30",
        "revenue": 258027000000000, "net_income": 19101000000000, "eps": 141.56, "pe_ratio": 25.3,
        "roe": 0.089, "debt_to_equity": 0.42,
    }
    detail = (await client.get("/api/v1/companies/RELIANCE.NS")).json()
    assert detail["latest_fundamentals"] == {
        "period": "Q2FY25", "revenue": 258027000000000, "net_income": 19101000000000,
        "eps": 141.56, "pe_ratio": 25.3, "market_cap": 19500000000000000,
    }


async def test_import_errors_name_every_bad_line_and_write_nothing(client):
    text = ("symbol,period,revenue\n"
            "TCS.NS,FY2024,100\n"
            "TCS.NS,H1FY25,100\n"
            "NOPE.NS,FY2024,1\n"
            "TCS.NS,FY2023,abc\n")
    response = await client.post("/api/v1/admin/fundamentals/import", content=text,
                                 headers={**ADMIN, "Content-Type": "text/csv"})
    body = response.json()
    assert response.status_code == 400 and body["error"]["code"] == "VALIDATION_ERROR"
    lines = sorted((d["line"], d["field"]) for d in body["error"]["details"])
    assert lines == [(3, "period"), (5, "revenue")]
    assert body["error"]["details"][0]["message"].startswith("line ")
    # Row-valid file with an unknown company: reported with its line, nothing written.
    text = "symbol,period,revenue\nTCS.NS,FY2024,100\nNOPE.NS,FY2024,1\n"
    body = (await client.post("/api/v1/admin/fundamentals/import", content=text,
                              headers={**ADMIN, "Content-Type": "text/csv"})).json()
    assert [(d["line"], d["field"]) for d in body["error"]["details"]] == [(3, "symbol")]
    listed = (await client.get("/api/v1/companies/TCS.NS/fundamentals")).json()
    assert listed["fundamentals"] == []


async def test_prices_import_json_multipart_and_range(client):
    rows = [{"symbol": "RELIANCE.NS", "date": f"2024-11-{d}", "open": 2830.0, "high": 2865.0,
             "low": 2810.0, "close": close, "volume": 5234567}
            for d, close in (("22", 2815.3), ("25", 2850.5))]
    response = await client.post(
        "/api/v1/admin/prices/import", headers=ADMIN,
        files={"file": ("prices.json", json.dumps(rows).encode(), "application/json")})
    assert response.status_code == 200 and response.json()["imported"] == 2
    body = (await client.get("/api/v1/companies/RELIANCE.NS/prices",
                             params={"from": "2024-11-23", "to": "2024-11-25"})).json()
    assert body == {"symbol": "RELIANCE.NS", "prices": [
        {"date": "2024-11-25", "open": 2830.0, "high": 2865.0, "low": 2810.0, "close": 2850.5,
         "volume": 5234567}]}
    latest = (await client.get("/api/v1/companies/RELIANCE.NS")).json()["latest_price"]
    assert latest == {"date": "2024-11-25", "close": 2850.5,
                      "change_percent": round((2850.5 - 2815.3) / 2815.3 * 100, 2)}
    bad = [{"symbol": "RELIANCE.NS", "date": "2024-11-26", "open": 10, "high": 5, "low": 4, "close": 6}]
    response = await client.post("/api/v1/admin/prices/import", headers={**ADMIN, "Content-Type": "application/json"},
                                 content=json.dumps(bad))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["message"].startswith("record 1:")
    inverted = await client.get("/api/v1/companies/RELIANCE.NS/prices",
                                params={"from": "2024-12-01", "to": "2024-11-01"})
    assert inverted.status_code == 400


async def test_news_import_scores_sentiment(client):
    text = ("symbol,title,source,url,summary,published_at\n"
            "RELIANCE.NS,Reliance Q2 profit rises 5% to Rs 19101 crore,Economic Times,"
            "https://example.com/a,Reliance Industries reported a 5% increase,2024-11-25T09:00:00Z\n"
            "RELIANCE.NS,Reliance shares slump as refining margins fall,Wire,https://example.com/b,,"
            "2024-11-24T09:00:00+05:30\n")
    response = await client.post("/api/v1/admin/news/import", content=text,
                                 headers={**ADMIN, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    news = (await client.get("/api/v1/companies/RELIANCE.NS/news", params={"limit": 10})).json()["news"]
    assert [n["sentiment"] for n in news] == ["positive", "negative"]
    assert news[0]["sentiment_score"] > 0 > news[1]["sentiment_score"]
    assert news[0]["published_at"] == "2024-11-25T09:00:00Z"
    assert news[1]["published_at"] == "2024-11-24T03:30:00Z"
    assert set(news[0]) == {"id", "title", "source", "url", "summary", "sentiment",
                            "sentiment_score", "published_at"}


async def test_admin_endpoints_require_the_admin_role(client):
    for headers in (USER, {}):
        response = await client.post("/api/v1/admin/news/import", content="x", headers=headers)
        assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


async def test_catalogue_import_is_an_upsert_that_keeps_what_it_does_not_mention(client):
    newer = ("Company Name,Industry,Symbol,Series,ISIN Code\n"
             "Reliance Industries Ltd.,Oil Gas & Consumable Fuels,RELIANCE,EQ,INE002A01018\n"
             "Newco Ltd.,Services,NEWCO,EQ,INE000A01012\n")
    response = await client.post("/api/v1/admin/companies/import", headers=ADMIN,
                                 files={"file": ("ind_nifty50list.csv", newer.encode(), "text/csv")})
    body = response.json()
    assert response.status_code == 200, body
    assert body == {"total": 2, "added": ["NEWCO.NS"], "updated": 1, "deactivated": []}
    listed = (await client.get("/api/v1/companies", params={"limit": 100})).json()
    assert listed["total"] == 51  # the other 49 stay listed
    nifty = (await client.get("/api/v1/companies", params={"index": "nifty50", "limit": 100})).json()
    assert nifty["total"] == 50 and "NEWCO.NS" not in {c["symbol"] for c in nifty["companies"]}
    internal = (await client.get("/internal/companies")).json()["companies"]
    newco = next(c for c in internal if c["symbol"] == "NEWCO.NS")
    assert newco == {"symbol": "NEWCO.NS", "name": "Newco Ltd.", "nse_symbol": "NEWCO",
                     "sector": "Services", "aliases": ["Newco"], "legal_name": None,
                     "fiscal_year_end_month": 3, "indices": []}
    reliance = next(c for c in internal if c["symbol"] == "RELIANCE.NS")
    assert reliance["indices"] == ["NIFTY50"]  # the import did not drop the seed's index


async def test_oversized_import_is_refused(client):
    app = client._transport.app
    app.state.deps.settings.import_max_bytes = 10
    response = await client.post("/api/v1/admin/news/import", content="x" * 100,
                                 headers={**ADMIN, "Content-Type": "text/csv"})
    assert response.status_code == 413
