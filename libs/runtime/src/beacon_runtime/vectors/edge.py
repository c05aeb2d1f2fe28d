"""VectorStore on qdrant-edge: Qdrant's engine in-process (Rust), for embedded mode.

Why not qdrant-client's local mode: on a hybrid query (dense + sparse prefetch, RRF, payload
filter) over 10k points local mode takes ~575 ms/query and edge ~6 ms (docs/ingestion.md has
this project's own measurement at 100k chunks). Edge keeps Qdrant's data model (named dense
and sparse vectors, IDF modifier, payload filters, RRF), so both adapters pass one contract.

One shard per collection, in `<base_dir>/<collection>`; a small `beacon.json` beside the
segments remembers the dense dimension. Calls run in worker threads: the engine releases the
GIL, and a query never blocks the event loop. Writes to one shard are serialised.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from beacon_runtime.vectors.port import ScoredPoint, SparseVector, VectorPoint, VectorStore
from beacon_runtime.vectors.qdrant_server import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    RRF_K,
    SPARSE,
    CollectionMismatch,
)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class EdgeVectorStore(VectorStore):
    def __init__(
        self,
        base_dir: Path | str | None = None,
        *,
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        prefetch_limit: int = 50,
        upsert_batch: int = 512,
    ) -> None:
        """`base_dir=None` uses a temporary directory removed on close()."""
        self._temporary = base_dir is None
        self._base = Path(tempfile.mkdtemp(prefix="beacon-vectors-") if base_dir is None else base_dir)
        self._weights = [dense_weight, sparse_weight]
        self._prefetch_limit = prefetch_limit
        self._upsert_batch = upsert_batch
        self._shards: dict[str, Any] = {}
        self._dims: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._open_lock = threading.Lock()

    # ------------------------------------------------------------ shards
    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"invalid collection name {name!r}")
        return self._base / name

    def _open(self, name: str, dense_dim: int | None) -> Any | None:
        """The shard, loaded or created (when `dense_dim` is given); None if absent."""
        import qdrant_edge as qe

        with self._open_lock:
            if name in self._shards:
                if dense_dim is not None and self._dims[name] != dense_dim:
                    raise CollectionMismatch(
                        f"collection {name!r} holds {self._dims[name]}-d vectors, not {dense_dim}")
                return self._shards[name]
            path = self._path(name)
            meta = path / "beacon.json"
            if meta.exists():
                stored = json.loads(meta.read_text())["dense_dim"]
                if dense_dim is not None and stored != dense_dim:
                    raise CollectionMismatch(
                        f"collection {name!r} holds {stored}-d vectors, not {dense_dim}")
                shard = qe.EdgeShard.load(str(path / "shard"))
                dim = stored
            elif dense_dim is None:
                return None
            else:
                config = qe.EdgeConfig(
                    vectors={DENSE: qe.EdgeVectorParams(size=dense_dim, distance=qe.Distance.Cosine)},
                    sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                )
                shard = qe.EdgeShard.create(str(path / "shard"), config)
                for field in KEYWORD_FIELDS:
                    shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
                for field in INTEGER_FIELDS:
                    shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Integer))
                meta.write_text(json.dumps({"dense_dim": dense_dim}))
                dim = dense_dim
            self._shards[name] = shard
            self._dims[name] = dim
            self._locks[name] = threading.Lock()
            return shard

    # ------------------------------------------------------------ port
    async def ensure_collection(self, name: str, dense_dim: int) -> None:
        await asyncio.to_thread(self._open, name, dense_dim)

    async def upsert(self, name: str, points: list[VectorPoint]) -> None:
        await asyncio.to_thread(self._upsert, name, points)

    def _upsert(self, name: str, points: list[VectorPoint]) -> None:
        import qdrant_edge as qe

        shard = self._open(name, None)
        if shard is None:
            raise ValueError(f"collection {name!r} does not exist: call ensure_collection first")
        with self._locks[name]:
            for start in range(0, len(points), self._upsert_batch):
                batch = [
                    qe.Point(p.id, {DENSE: p.dense,
                                    SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values)},
                             p.payload)
                    for p in points[start:start + self._upsert_batch]
                ]
                shard.update(qe.UpdateOperation.upsert_points(batch))

    async def hybrid_search(self, name, dense, sparse, *, filters=None, limit=10):
        return await asyncio.to_thread(self._search, name, dense, sparse, filters, limit)

    def _search(self, name: str, dense: list[float], sparse: SparseVector,
                filters: dict[str, Any] | None, limit: int) -> list[ScoredPoint]:
        import qdrant_edge as qe

        shard = self._open(name, None)
        if shard is None:
            return []
        query_filter = edge_filter(filters)
        depth = max(self._prefetch_limit, limit)
        prefetches = [qe.Prefetch(limit=depth, query=qe.Query.Nearest(dense, using=DENSE),
                                  filter=query_filter)]
        weights = [self._weights[0]]
        if sparse.indices:
            prefetches.append(qe.Prefetch(
                limit=depth,
                query=qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values), using=SPARSE),
                filter=query_filter))
            weights.append(self._weights[1])
        fusion = qe.Fusion.Rrf(k=RRF_K, weights=weights if len(set(weights)) > 1 else None)
        points = shard.query(qe.QueryRequest(limit=limit, prefetches=prefetches, query=fusion,
                                             filter=query_filter, with_payload=True))
        return [ScoredPoint(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
                for p in points]

    async def delete_where(self, name: str, filters: dict[str, Any]) -> None:
        if not filters:
            raise ValueError("refusing to delete without a filter")
        await asyncio.to_thread(self._delete, name, filters)

    def _delete(self, name: str, filters: dict[str, Any]) -> None:
        import qdrant_edge as qe

        shard = self._open(name, None)
        if shard is None:
            return
        with self._locks[name]:
            shard.update(qe.UpdateOperation.delete_points_by_filter(edge_filter(filters)))

    async def count(self, name: str, filters: dict[str, Any] | None = None) -> int:
        return await asyncio.to_thread(self._count, name, filters)

    def _count(self, name: str, filters: dict[str, Any] | None) -> int:
        import qdrant_edge as qe

        shard = self._open(name, None)
        if shard is None:
            return 0
        return int(shard.count(qe.CountRequest(exact=True, filter=edge_filter(filters))))

    async def close(self) -> None:
        def _close() -> None:
            with self._open_lock:
                for name, shard in self._shards.items():
                    with self._locks[name]:
                        shard.flush()
                        shard.close()
                self._shards.clear()
            if self._temporary:
                shutil.rmtree(self._base, ignore_errors=True)

        await asyncio.to_thread(_close)


def edge_filter(filters: dict[str, Any] | None):
    import qdrant_edge as qe

    conditions = []
    for key, value in (filters or {}).items():
        if isinstance(value, (list, tuple, set)):
            values = list(value)
            if not values:
                continue
            conditions.append(qe.FieldCondition(key=key, match=qe.MatchAny(values)))
        elif value is not None:
            conditions.append(qe.FieldCondition(key=key, match=qe.MatchValue(value)))
    return qe.Filter(must=conditions) if conditions else None
