"""Where the report writer finds the customer's material: ingestion's internal material
search (`POST /internal/material/search`), over HTTP to INGESTION_URL or, in embedded mode,
in process to ingestion's app. The owner travels in `X-Material-Owner`."""

from __future__ import annotations

from abc import ABC, abstractmethod

import httpx

from beacon_contracts.material import OWNER_HEADER, MaterialSearchRequest, MaterialSearchResponse
from beacon_runtime.errors import DependencyUnavailable


class MaterialUnavailable(DependencyUnavailable):
    """The material could not be searched (ingestion down or answering errors)."""


class MaterialSource(ABC):
    @abstractmethod
    async def search(self, owner: str, request: MaterialSearchRequest) -> MaterialSearchResponse: ...

    async def close(self) -> None:
        return None


class HttpMaterialSource(MaterialSource):
    def __init__(self, client: httpx.AsyncClient, *, owned: bool = False) -> None:
        self._client = client
        self._owned = owned

    async def search(self, owner: str, request: MaterialSearchRequest) -> MaterialSearchResponse:
        try:
            response = await self._client.post(
                "/internal/material/search", json=request.model_dump(mode="json"),
                headers={OWNER_HEADER: owner})
        except httpx.HTTPError as exc:
            raise MaterialUnavailable(f"ingestion: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise MaterialUnavailable(f"ingestion answered {response.status_code}")
        return MaterialSearchResponse.model_validate(response.json())

    async def close(self) -> None:
        if self._owned:
            await self._client.aclose()


class NoMaterialSource(MaterialSource):
    """No ingestion service configured: every customer has no material, and drafts say why."""

    reason = ("The report writer has no access to customer material (INGESTION_URL is not "
              "set), so this section cannot be drafted from it.")

    async def search(self, owner: str, request: MaterialSearchRequest) -> MaterialSearchResponse:
        return MaterialSearchResponse(documents=0, results=[])
