"""/docs and /redoc render in headless Chromium with nothing but the gateway to talk to.

The gateway runs on a loopback port; Chromium (Debian's `chromium` package) resolves every
other host to nothing, so a page that needed a CDN, a web font or a remote favicon would
stay blank. The test reads the DOM after the scripts ran (the operations are listed), takes
a screenshot of /docs (kept in the test's temporary folder, path printed) and checks from
Chromium's network log that no request left 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.serve import attach_lifespan

# CI installs chromium (.ci/run), so there a missing browser fails the test.
pytestmark = [pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="needs Debian's chromium: apt-get install -y chromium")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=15000", "--window-size=1280,2400"]


@pytest.fixture
async def gateway_url():
    bus = InMemoryBus()
    settings = GatewaySettings(api_keys="k", jwt_secret="s" * 40)
    service = build(settings, Adapters(settings, bus=bus, jobs=InMemoryJobStore()))
    attach_lifespan(service.http, bus=bus, services=[service])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(service.http, host="127.0.0.1", port=port,
                                           log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def chromium(tmp_path: Path, name: str, url: str, *args: str) -> tuple[str, list[str]]:
    """Run Chromium with a fresh profile on `url`; its stdout, and every URL the page asked
    for (the browser's own background requests, refused by the resolver rules, left out)."""
    net_log = tmp_path / f"{name}.netlog.json"
    process = await asyncio.create_subprocess_exec(
        "chromium", *FLAGS, f"--user-data-dir={tmp_path / (name + '-profile')}",
        f"--log-net-log={net_log}", *args, url,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    return stdout.decode(errors="replace"), requested_by_page(net_log, origin)


def requested_by_page(net_log: Path, origin: str) -> list[str]:
    text = net_log.read_text(errors="replace")
    try:
        log = json.loads(text)
    except ValueError:  # a log cut short: read what is there
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and e.get("params", {}).get("initiator") == origin]


def external(urls: list[str]) -> list[str]:
    return [u for u in urls if urlsplit(u).hostname != "127.0.0.1"]


async def test_swagger_ui_lists_the_operations_offline(gateway_url, tmp_path):
    dom, urls = await chromium(tmp_path, "docs", f"{gateway_url}/docs", "--dump-dom")
    assert 'class="swagger-ui"' in dom
    for operation in ("/generate", "/status/{job_id}", "/api/v1/auth/login", "/api/v1/query",
                      "/api/v1/documents/upload"):
        assert f'data-path="{operation}"' in dom, operation
    assert dom.count('class="opblock-summary-path"') >= 40
    assert external(urls) == []
    assert f"{gateway_url}/docs-assets/swagger-ui-bundle.js" in urls
    assert f"{gateway_url}/docs-assets/favicon.png" in urls

    screenshot = tmp_path / "docs.png"
    _, urls = await chromium(tmp_path, "shot", f"{gateway_url}/docs", f"--screenshot={screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 50_000, "a rendered page, not a blank one"
    assert external(urls) == []
    print(f"\nscreenshot of /docs: {screenshot}")


async def test_redoc_renders_offline(gateway_url, tmp_path):
    dom, urls = await chromium(tmp_path, "redoc", f"{gateway_url}/redoc", "--dump-dom")
    assert "Beacon API" in dom
    for operation in ("/generate", "/api/v1/query/stream"):
        assert operation in dom, operation
    assert "fonts.googleapis" not in dom
    assert f"{gateway_url}/openapi.json" in urls
    assert external(urls) == []
