"""No password, token or API key reaches a log line, even at DEBUG."""

from __future__ import annotations

import json

import pytest
from research_stack import PASSWORD, research_stack

from beacon_runtime.logs import configure_logging, get_logger


async def test_secrets_never_logged(capsys):
    # No logger caching: a cached logger would keep writing to this test's capture stream.
    configure_logging("test", "DEBUG", json=True, cache_loggers=False)
    async with research_stack() as (client, tokens, _):
        pair = (await client.post("/api/v1/auth/login",
                                  json={"email": "user@example.com", "password": PASSWORD})).json()
        await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        await client.post("/api/v1/auth/login", json={"email": "user@example.com", "password": "wrong-pw-123"})
        await client.post("/generate", headers={"X-API-Key": "k", "Session-Id": "s"}, json={
            "type": "Technical_scope", "customer_id": "c", "opportunity_id": "o",
            "section_title": "Technology Stack"})
        get_logger("probe").info("probe", password="hunter2", api_key="k-secret",
                                 authorization="Bearer x", output_tokens=42)
    output = capsys.readouterr().out
    assert "job.queued" in output, "the capture must contain real log lines (DEBUG here)"
    for secret in (PASSWORD, "wrong-pw-123", pair["access_token"], pair["refresh_token"],
                   "hunter2", "k-secret", "Bearer x", *tokens.values()):
        assert secret not in output
    assert output.count("[redacted]") >= 3
    probe = [json.loads(line) for line in output.splitlines() if '"probe"' in line]
    assert probe and probe[0]["output_tokens"] == 42, "counts are not secrets"
    assert probe[0]["password"] == "[redacted]"


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    import logging

    import structlog

    # configure_logging pointed the root handler at pytest's capture stream, which closes
    # after this test: leave no handler behind for later tests to trip over.
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()
