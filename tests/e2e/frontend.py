"""The report API used the way the frontend does (seed 000): POST /generate or /refine,
take data.job_id from the 202, then poll GET /status/{job_id} with backoff until the job is
ready or failed."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx


class JobFailed(AssertionError):
    pass


class JobLost(AssertionError):
    """404 from /status: the contract says the job expired or the backend lost it."""


class ReportClient:
    def __init__(self, base_url: str, api_key: str, session_id: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": api_key}, timeout=10.0
        )
        self.session_id = session_id

    async def aclose(self) -> None:
        await self.http.aclose()

    async def submit(self, path: str, body: dict[str, Any]) -> str:
        response = await self.http.post(path, json=body, headers={"Session-Id": self.session_id})
        assert response.status_code == 202, response.text
        envelope = response.json()
        assert envelope["status"] == "processing", envelope
        assert envelope["data"]["status"] in ("pending", "processing"), envelope
        return envelope["data"]["job_id"]

    async def status(self, job_id: str) -> httpx.Response:
        return await self.http.get(f"/status/{job_id}")

    async def poll(
        self,
        job_id: str,
        *,
        timeout: float = 30.0,
        first_delay: float = 1.0,
        factor: float = 1.5,
        max_delay: float = 10.0,
    ) -> dict[str, Any]:
        """The seed's polling loop: wait, GET /status, back off x1.5 up to 10 s. Returns
        data.result of a ready job; raises JobFailed, JobLost or TimeoutError."""
        deadline = time.monotonic() + timeout
        delay = first_delay
        while time.monotonic() < deadline:
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            response = await self.status(job_id)
            if response.status_code == 404:
                raise JobLost(response.text)
            assert response.status_code == 200, response.text
            envelope = response.json()
            if envelope["status"] == "ready":
                assert envelope["data"]["status"] == "completed", envelope
                return envelope["data"]["result"]
            if envelope["status"] == "error" and envelope["data"]["status"] == "failed":
                raise JobFailed(envelope["data"]["error"]["message"])
            assert envelope["status"] == "processing", envelope
            delay = min(delay * factor, max_delay)
        raise TimeoutError(f"job {job_id} not ready after {timeout}s")


def decode(b64: str) -> str:
    return base64.b64decode(b64, validate=True).decode("utf-8")


def encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
