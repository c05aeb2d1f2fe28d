"""Run services as separate OS processes for end-to-end tests (and the benchmark).

Each process is started with an explicit environment (settings this machine's environment
might carry are removed first), its stdout and stderr go to one log file, readiness is an
HTTP probe polled until a deadline, and it is stopped by PID: SIGTERM, then SIGKILL if it
has not exited in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]

# A deadline against hangs, not a speed claim: processes start slowly on a loaded machine.
READY_TIMEOUT_S = 120.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick, on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings_env_names() -> set[str]:
    """Upper-cased names of every settings field of the services started here."""
    from beacon_gateway.settings import GatewaySettings
    from beacon_report_writer.settings import ReportWriterSettings

    names: set[str] = set()
    for cls in (GatewaySettings, ReportWriterSettings):
        names.update(name.upper() for name in cls.model_fields)
    return names


def clean_env(overrides: Mapping[str, str | int | float | bool]) -> dict[str, str]:
    """This process's environment without any service setting, plus `overrides`."""
    blocked = _settings_env_names()
    env = {k: v for k, v in os.environ.items() if k.upper() not in blocked}
    env["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they are written
    # The lexical embedder: each process would otherwise run MiniLM over the sample corpus at
    # start-up (slow on a shared CI machine); a test that measures the model asks for it.
    env["EMBEDDING_BACKEND"] = "hashing"
    for key, value in overrides.items():
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path
    port: int | None = None
    _log_file: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{self.name} has no HTTP port")
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def logs(self, event: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """JSON log lines (LOG_JSON=true), optionally only those with `event` and `match`."""
        records = []
        for line in self.output().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by SIGKILL
            if event is not None and record.get("event") != event:
                continue
            if all(record.get(k) == v for k, v in match.items()):
                records.append(record)
        return records


def start(
    name: str,
    args: list[str],
    *,
    env: Mapping[str, str],
    log_dir: Path,
    port: int | None = None,
) -> Process:
    """Start `python <args>` (this interpreter, so the same virtualenv) in the repo root."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
    popen = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C in the terminal is the test's, not the service's
    )
    return Process(name=name, popen=popen, log_path=log_path, port=port, _log_file=log_file)


def start_service(
    name: str, module: str, *, env: Mapping[str, str], log_dir: Path, port: int | None = None
) -> Process:
    """`python -m <module>`; PORT is set to `port` (a free one when not given)."""
    port = port or free_port()
    return start(
        name, ["-m", module], env={**env, "PORT": str(port)}, log_dir=log_dir, port=port
    )


async def wait_until(
    check: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
    while_alive: list[Process] | None = None,
) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds, or at
    once if one of `while_alive` exits (its log tail is in the message)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        for proc in while_alive or []:
            if not proc.alive():
                raise AssertionError(
                    f"{proc.name} exited with {proc.popen.returncode} while waiting for "
                    f"{what}:\n{proc.tail()}"
                )
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_http_ok(
    proc: Process, path: str = "/readyz", *, timeout: float = READY_TIMEOUT_S
) -> None:
    """Poll GET `path` until it answers 200."""

    async with httpx.AsyncClient(base_url=proc.url, timeout=2.0) as client:

        async def ready() -> bool:
            try:
                return (await client.get(path)).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(
            ready, timeout=timeout, interval=0.1, what=f"{proc.name} {path}", while_alive=[proc]
        )


def _close_log(proc: Process) -> None:
    if proc._log_file is not None and not proc._log_file.closed:
        proc._log_file.close()


def stop(proc: Process, timeout: float = 10.0) -> tuple[int, bool]:
    """SIGTERM, wait up to `timeout`, then SIGKILL. Returns (exit code, needed SIGKILL)."""
    killed = False
    if proc.alive():
        proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait(10)
            killed = True
    _close_log(proc)
    return proc.popen.returncode, killed


def kill(proc: Process) -> int:
    """SIGKILL: the process gets no chance to ack, flush or say goodbye."""
    if proc.alive():
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(10)
    _close_log(proc)
    return proc.popen.returncode


# The development admin and API key the embedded app is started with in e2e tests.
EMBEDDED_ADMIN = {"email": "admin@example.com", "password": "admin-password-1"}


@asynccontextmanager
async def embedded_app(log_dir: Path) -> AsyncIterator[Process]:
    """The whole system in one process (`make dev`'s module) on a free port, ready."""
    env = clean_env({"DEV_ADMIN_EMAIL": EMBEDDED_ADMIN["email"],
                     "DEV_ADMIN_PASSWORD": EMBEDDED_ADMIN["password"],
                     "API_KEYS": "e2e-key", "LOG_JSON": True, "ARGON2_TIME_COST": 1,
                     "ARGON2_MEMORY_KIB": 8192})
    proc = start_service("embedded", "beacon_embedded.main", env=env, log_dir=log_dir)
    try:
        await wait_http_ok(proc, "/readyz")
        yield proc
    finally:
        stop(proc, timeout=10)
