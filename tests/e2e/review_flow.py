"""What both e2e review tests do through the public API: users per role, an SSE reader that
can stop at the hold and go on later, and polling a query until it reaches a status."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import httpx

ADMIN = {"email": "admin@example.com", "password": "admin-password-1"}
# Sensitive ("should i buy"), and the sample filings hold what the answer cites.
SENSITIVE = "Should I buy Reliance shares, given its revenue from operations in FY2024?"


@dataclass
class Event:
    event: str
    id: int
    data: dict


class Stream:
    """One SSE response, read event by event across calls."""

    def __init__(self, response: httpx.Response) -> None:
        self.query_id = response.headers["x-query-id"]
        self._lines = response.aiter_lines()

    async def until(self, stop=lambda _e: False) -> list[Event]:
        events, fields = [], {}
        async for line in self._lines:
            if line.startswith(":"):
                continue
            if line == "":
                if "data" in fields:
                    events.append(Event(fields["event"], int(fields["id"]), json.loads(fields["data"])))
                    if stop(events[-1]):
                        return events
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        return events


def is_hold(event: Event) -> bool:
    return event.data.get("node") == "review" and event.data.get("status") == "pending"


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def people(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Bearer headers for the dev admin, two reviewers and an analyst."""
    admin = await login(client, **ADMIN)
    headers = {"admin": admin}
    for name, role in (("rita", "reviewer"), ("raj", "reviewer"), ("ana", "user")):
        created = await client.post("/api/v1/admin/users", headers=admin, json={
            "email": f"{name}@example.com", "password": f"{name}-password-1",
            "full_name": name.title(), "role": role})
        assert created.status_code == 201, created.text
        headers[name] = await login(client, f"{name}@example.com", f"{name}-password-1")
    return headers


async def wait_for_documents(client: httpx.AsyncClient, headers, count: int = 6) -> None:
    for _ in range(600):
        body = (await client.get("/api/v1/documents?status=completed", headers=headers)).json()
        if body.get("total", 0) >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the sample corpus was not ingested")


async def wait_for_query(client: httpx.AsyncClient, headers, query_id: str, status: str) -> dict:
    for _ in range(600):
        body = (await client.get(f"/api/v1/query/{query_id}", headers=headers)).json()
        if body.get("status") == status:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"query {query_id} never reached {status}: {body}")


async def pending_review(client: httpx.AsyncClient, headers, query_id: str) -> str:
    for _ in range(600):
        listed = (await client.get("/api/v1/hitl/pending", headers=headers)).json()
        for review in listed.get("reviews", []):
            if review["query_id"] == query_id:
                return review["id"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no pending review for query {query_id}")
