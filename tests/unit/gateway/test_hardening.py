"""CORS is configurable, oversized bodies get 413 in each contract's format, odd paths are
forwarded as sent."""

from __future__ import annotations

from research_stack import bearer, research_stack

from beacon_gateway.repository import Role


async def test_cors_allows_only_configured_origins():
    async with research_stack(cors_origins="https://app.example.com") as (client, *_):
        allowed = await client.options("/api/v1/auth/login", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        denied = await client.options("/api/v1/auth/login", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in denied.headers
        simple = await client.get("/healthz", headers={"Origin": "https://app.example.com"})
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_no_cors_headers_when_not_configured():
    async with research_stack() as (client, *_):
        response = await client.get("/healthz", headers={"Origin": "https://app.example.com"})
        assert "access-control-allow-origin" not in response.headers


async def test_oversized_research_body_is_413_in_the_research_format():
    async with research_stack(max_body_bytes=1024) as (client, *_):
        response = await client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "x" * 5000},
                                     headers={"X-Request-ID": "big-1"})
        assert response.status_code == 413
        assert response.json() == {"error": {"code": "PAYLOAD_TOO_LARGE",
                                             "message": "Request body exceeds 1024 bytes", "details": []},
                                   "request_id": "big-1"}


async def test_chunked_oversized_body_is_413_too():
    async with research_stack(max_body_bytes=1024) as (client, *_):
        async def chunks():
            for _ in range(10):
                yield b"x" * 512

        response = await client.post("/api/v1/auth/login", content=chunks(),
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_forwarded_paths_reach_the_service_as_sent_and_control_characters_do_not():
    from fastapi import FastAPI

    upstream = FastAPI()

    @upstream.get("/api/v1/companies/{symbol}")
    async def company(symbol: str):
        return {"symbol": symbol}

    async with research_stack(internal_apps={"ingestion": upstream}) as (client, tokens, _):
        headers = bearer(tokens[Role.USER])
        response = await client.get("/api/v1/companies/%C3%8DC%20%C3%99", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"symbol": "ÍC Ù"}, "the upstream sees exactly what the client sent"
        # A control character in an identifier is refused here (it once reached Postgres).
        refused = await client.get("/api/v1/companies/%C3%8DC%15%C3%99", headers=headers)
        assert refused.status_code == 400
        assert refused.json()["error"]["details"][0]["field"] == "symbol"
