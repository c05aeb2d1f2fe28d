"""Every service's image has only what its package declares (`uv sync --package`,
deploy/docker/Dockerfile), while the workspace venv the other tests run in has everything: a
missing declaration passes every test here and crash-loops the container. Twice so far
(redis for the workers' processed-event record, python-multipart for the gateway's uploads),
found only by `make stack-test`. This reads each service's dependency closure from uv.lock and
checks it holds what the deployments make the service use."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "report-writer", "ingestion", "rag-query", "hitl")
# What a setting, when the deployment sets it, makes the service import.
NEEDS = {
    "AMQP_URL": {"aio-pika"},
    "REDIS_URL": {"redis"},
    "DATABASE_URL": {"asyncpg", "sqlalchemy", "alembic"},
}


@cache
def _lock() -> dict[str, dict]:
    packages = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    return {p["name"]: p for p in packages}


def _closure(name: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Distributions installed for `name` with `extras` (markers ignored: Linux, CPython)."""
    seen: set[tuple[str, str | None]] = set()
    names: set[str] = set()

    def visit(pkg: str, extra: str | None) -> None:
        if (pkg, extra) in seen:
            return
        seen.add((pkg, extra))
        names.add(pkg)
        entry = _lock()[pkg]
        deps = (entry.get("dependencies", []) if extra is None
                else entry.get("optional-dependencies", {}).get(extra, []))
        for dep in deps:
            visit(dep["name"], None)
            for sub in dep.get("extra", []):
                visit(dep["name"], sub)

    visit(name, None)
    for extra in extras:
        visit(name, extra)
    return names


def _compose_env() -> dict[str, set[str]]:
    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "compose.yaml").read_text())
    return {name: set(service.get("environment", {})) for name, service
            in compose["services"].items() if name in SERVICES}


def _k8s_env() -> dict[str, set[str]]:
    env: dict[str, set[str]] = {}
    for name in SERVICES:
        docs = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / f"{name}.yaml").read_text())
        (deployment,) = [d for d in docs if d and d["kind"] == "Deployment"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env[name] = {var["name"] for var in container.get("env", [])}
    return env


def test_the_closure_is_read_from_the_lock():
    assert {"fastapi", "starlette", "pydantic"} <= _closure("beacon-gateway")
    assert "redis" not in _closure("beacon-runtime")
    assert "redis" in _closure("beacon-runtime", ("redis",))


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_every_setting_a_deployment_gives_a_service_has_its_client_installed(source):
    given = _compose_env() if source == "compose" else _k8s_env()
    assert set(given) == set(SERVICES)
    for service, names in given.items():
        installed = _closure(f"beacon-{service}")
        # A service without a schema ignores the shared DATABASE_URL (compose gives it to all).
        owns_schema = any((ROOT / "services" / service / "src").rglob("migrations/env.py"))
        for setting, needed in NEEDS.items():
            if setting in names and (setting != "DATABASE_URL" or owns_schema):
                assert needed <= installed, f"{source}: {service} gets {setting} but lacks " \
                                            f"{sorted(needed - installed)}"


def test_services_that_take_form_uploads_have_python_multipart():
    """FastAPI imports python-multipart only when a route with Form/File/UploadFile is built."""
    form = re.compile(r"\b(UploadFile|Form\(|File\()")
    for service in SERVICES:
        sources = (ROOT / "services" / service / "src").rglob("*.py")
        if any(form.search(path.read_text()) for path in sources):
            assert "python-multipart" in _closure(f"beacon-{service}"), service
