"""Run one process: start services and the bus, serve HTTP until SIGTERM, stop in reverse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beacon_runtime.bus.port import EventBus
from beacon_runtime.logs import get_logger
from beacon_runtime.service import Service

log = get_logger(__name__)


async def serve(
    app: Any, *, host: str, port: int, bus: EventBus, services: Sequence[Service]
) -> None:
    import uvicorn

    for service in services:
        await service.start()
    # Consume only once every service is ready to handle what arrives.
    await bus.start()
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    log.info("process.started", host=host, port=port, services=[s.name for s in services])
    try:
        await server.serve()
    finally:
        await bus.stop()
        for service in reversed(services):
            await service.stop()
        log.info("process.stopped")
