"""Distributed entry point: `python -m beacon_ingestion.main`.

The bus and the service start in the lifespan of the internal app, so uvicorn's SIGTERM
handling stops them (in reverse order) before the process exits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from beacon_runtime.bus.port import EventBus
from beacon_runtime.factory import build_bus
from beacon_runtime.logs import configure_logging, get_logger
from beacon_runtime.service import Service
from starlette.applications import Starlette
from starlette.routing import Mount

from beacon_ingestion.bootstrap import build
from beacon_ingestion.settings import IngestionSettings

log = get_logger(__name__)


def run() -> None:
    import uvicorn

    settings = IngestionSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    bus = build_bus(settings)
    service = build(settings, bus=bus)
    uvicorn.run(with_lifespan(service, bus), host=settings.host, port=settings.port,
                log_config=None, access_log=False)


def with_lifespan(service: Service, bus: EventBus) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await service.start()
        await bus.start()  # consume only once the service is ready
        log.info("process.started", service=service.name)
        try:
            yield
        finally:
            await bus.stop()
            await service.stop()
            log.info("process.stopped", service=service.name)

    return Starlette(routes=[Mount("/", app=service.http)], lifespan=lifespan)


if __name__ == "__main__":
    run()
