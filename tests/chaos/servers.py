"""Servers the chaos scenarios own: a RabbitMQ node and a Redis (AOF on), each on its own
loopback ports with its own data directory, started and stopped by PID. The machine's own
RabbitMQ, Redis and Postgres are never touched (other tests and helpers share them)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # the script, not the su wrapper


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout}s")
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


@dataclass
class OwnRabbit:
    """`rabbitmq-server` in the foreground: the script waits on its Erlang VM and stops it
    gracefully on SIGTERM; kill() SIGKILLs the VM (a broker crash)."""

    base: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"chaos{uuid.uuid4().hex[:8]}@localhost")
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        self.base.mkdir(parents=True, exist_ok=True)
        plugins = self.base / "enabled_plugins"
        plugins.write_text("[].\n")  # management and every other plugin off
        conf = self.base / "rabbitmq.conf"
        conf.write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")},
            "HOME": str(self.base),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbit.pid"),
        }

    def start(self, timeout: float = 90.0) -> None:
        log = open(self.base / "server.log", "ab") if self.base.exists() else None  # noqa: SIM115
        if log is None:
            self.base.mkdir(parents=True)
            log = open(self.base / "server.log", "ab")  # noqa: SIM115
        self.popen = subprocess.Popen(
            [RABBITMQ_SERVER], env=self.env(), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        _wait(lambda: self.popen.poll() is None and _listening(self.port), timeout,
              f"RabbitMQ node {self.node}")

    def stop(self, timeout: float = 60.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the Erlang VM (and then its script): an abrupt broker crash."""
        if self.popen is None:
            return
        for child in _children(self.popen.pid):
            os.kill(child, signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class OwnRedis:
    base: Path
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "server.log", "ab")  # noqa: SIM115
        self.popen = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.base), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(lambda: self.popen.poll() is None and _listening(self.port), timeout, "Redis")

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        self.popen.wait(timeout)
