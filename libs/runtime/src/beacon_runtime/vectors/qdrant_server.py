"""VectorStore on a Qdrant server through `qdrant-client` (QDRANT_URL).

Each point has a named dense vector `dense` (cosine) and a named sparse vector `sparse`
whose IDF Qdrant computes (`Modifier.IDF`). Hybrid search prefetches candidates from both and
fuses them with (optionally weighted) reciprocal rank fusion; payload filters apply to both.

Passing `location=":memory:"` gives qdrant-client's local mode: a pure-Python reference
implementation, used to test this adapter (no Qdrant server is installable here). It is
about 100x slower than qdrant-edge; embedded mode uses `edge.EdgeVectorStore` instead.
"""

from __future__ import annotations

from typing import Any

from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.vectors.port import ScoredPoint, VectorPoint, VectorStore

DENSE = "dense"
SPARSE = "sparse"
KEYWORD_FIELDS = ("company_symbol", "doc_type", "fiscal_period")
RRF_K = 60  # the usual reciprocal-rank-fusion constant; both adapters use it
INTEGER_FIELDS = ("document_id",)


class CollectionMismatch(ValueError):
    """The collection exists with another dense dimension (the embedder was changed)."""


class QdrantServerStore(VectorStore):
    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        location: str | None = None,
        timeout_s: float = 10.0,
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        prefetch_limit: int = 50,
        upsert_batch: int = 256,
    ) -> None:
        from qdrant_client import AsyncQdrantClient

        if (url is None) == (location is None):
            raise ValueError("give exactly one of url (a server) or location (local mode)")
        self._local = location is not None
        self._client = (
            AsyncQdrantClient(location=location)
            if location is not None
            else AsyncQdrantClient(url=url, api_key=api_key, timeout=int(timeout_s),
                                   check_compatibility=False)
        )
        self._weights = [dense_weight, sparse_weight]
        self._prefetch_limit = prefetch_limit
        self._upsert_batch = upsert_batch
        self._known: dict[str, int] = {}

    async def _call(self, coroutine):
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            return await coroutine
        except ResponseHandlingException as exc:
            raise DependencyUnavailable(f"qdrant: {exc}") from exc
        except UnexpectedResponse as exc:
            if exc.status_code is not None and exc.status_code >= 500:
                raise DependencyUnavailable(f"qdrant: HTTP {exc.status_code}") from exc
            raise
        except OSError as exc:
            raise DependencyUnavailable(f"qdrant: {exc}") from exc

    async def ensure_collection(self, name: str, dense_dim: int) -> None:
        from qdrant_client import models

        if self._known.get(name) == dense_dim:
            return
        if await self._call(self._client.collection_exists(name)):
            info = await self._call(self._client.get_collection(name))
            size = info.config.params.vectors[DENSE].size
            if size != dense_dim:
                raise CollectionMismatch(
                    f"collection {name!r} holds {size}-d vectors, the embedder gives {dense_dim}"
                )
        else:
            try:
                await self._call(self._client.create_collection(
                    name,
                    vectors_config={DENSE: models.VectorParams(size=dense_dim, distance=models.Distance.COSINE)},
                    sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                ))
            except Exception:
                # Another replica created it first: fine if it now exists.
                if not await self._call(self._client.collection_exists(name)):
                    raise
            if not self._local:  # local mode has no payload indexes (and warns about them)
                for field in KEYWORD_FIELDS:
                    await self._call(self._client.create_payload_index(
                        name, field, models.PayloadSchemaType.KEYWORD))
                for field in INTEGER_FIELDS:
                    await self._call(self._client.create_payload_index(
                        name, field, models.PayloadSchemaType.INTEGER))
        self._known[name] = dense_dim

    async def upsert(self, name: str, points: list[VectorPoint]) -> None:
        from qdrant_client import models

        for start in range(0, len(points), self._upsert_batch):
            batch = [
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE: p.dense,
                        SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    payload=p.payload,
                )
                for p in points[start:start + self._upsert_batch]
            ]
            await self._call(self._client.upsert(name, points=batch, wait=True))

    async def hybrid_search(self, name, dense, sparse, *, filters=None, limit=10):
        from qdrant_client import models

        if not await self._exists(name):
            return []
        query_filter = qdrant_filter(filters)
        depth = max(self._prefetch_limit, limit)
        prefetch = [models.Prefetch(query=dense, using=DENSE, limit=depth,
                                    filter=query_filter)]
        weights = [self._weights[0]]
        if sparse.indices:
            prefetch.append(models.Prefetch(
                query=models.SparseVector(indices=sparse.indices, values=sparse.values),
                using=SPARSE, limit=depth, filter=query_filter))
            weights.append(self._weights[1])
        fusion = models.RrfQuery(rrf=models.Rrf(k=RRF_K, weights=weights if len(set(weights)) > 1 else None))
        response = await self._call(self._client.query_points(
            name, prefetch=prefetch, query=fusion, query_filter=query_filter, limit=limit,
            with_payload=True,
        ))
        return [ScoredPoint(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
                for p in response.points]

    async def delete_where(self, name: str, filters: dict[str, Any]) -> None:
        from qdrant_client import models

        if not filters:
            raise ValueError("refusing to delete without a filter")
        if not await self._exists(name):
            return
        await self._call(self._client.delete(
            name, points_selector=models.FilterSelector(filter=qdrant_filter(filters)), wait=True))

    async def count(self, name: str, filters: dict[str, Any] | None = None) -> int:
        if not await self._exists(name):
            return 0
        result = await self._call(self._client.count(name, count_filter=qdrant_filter(filters), exact=True))
        return int(result.count)

    async def _exists(self, name: str) -> bool:
        return name in self._known or await self._call(self._client.collection_exists(name))

    async def ping(self) -> bool:
        try:
            await self._client.get_collections()
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    async def close(self) -> None:
        await self._client.close()


def qdrant_filter(filters: dict[str, Any] | None):
    from qdrant_client import models

    conditions = []
    for key, value in (filters or {}).items():
        if isinstance(value, (list, tuple, set)):
            values = list(value)
            if not values:
                continue
            conditions.append(models.FieldCondition(key=key, match=models.MatchAny(any=values)))
        elif value is not None:
            conditions.append(models.FieldCondition(key=key, match=models.MatchValue(value=value)))
    return models.Filter(must=conditions) if conditions else None
