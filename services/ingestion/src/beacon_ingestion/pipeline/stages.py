"""The five stages of an ingestion run and what each leaves for the next.

Each stage reads its input from where the previous one left it (the file store: source bytes,
parsed pages, dense vectors; the repository: chunks) and reports progress through its
`Heartbeat`. A stage raises PermanentStageError for input that can never pass (the document
fails at once); any other exception is a failed attempt (see `runner.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from beacon_runtime.embeddings.port import Embedder, SparseEncoder
from beacon_runtime.vectors.port import VectorPoint, VectorStore

from beacon_ingestion.domain import (
    ANY_OPPORTUNITY,
    OFFER,
    STAGES,
    Chunk,
    Document,
    StageRecord,
    StageState,
    utcnow,
)
from beacon_runtime.files import FileStore
from beacon_ingestion.pipeline.chunking import chunk_pages, point_id
from beacon_ingestion.pipeline.download import SafeDownloader
from beacon_ingestion.pipeline.errors import PermanentStageError
from beacon_ingestion.pipeline.formats import PDF, chunk_by_page, parse_material
from beacon_ingestion.pipeline.parsing import Page, parse_pdf
from beacon_ingestion.repository.port import IngestionRepository
from beacon_ingestion.settings import IngestionSettings


def source_key(document_id: int) -> str:
    return f"documents/{document_id}/source.pdf"


def pages_key(document_id: int) -> str:
    return f"documents/{document_id}/pages.json"


def dense_key(document_id: int) -> str:
    return f"documents/{document_id}/dense.npy"


def search_text(document: Document, chunk: Chunk) -> str:
    """What is embedded: the chunk with its document and section, so that a question naming
    the company, the period or the section matches it."""
    head = " ".join(x for x in (document.company_symbol, document.fiscal_period, document.title) if x)
    section = f"{chunk.section}\n" if chunk.section and not chunk.text.startswith(chunk.section) else ""
    return f"{head}\n{section}{chunk.text}"


class Heartbeat:
    """Stages call `beat()` whenever they make progress; the watchdog reads `last`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # the watchdog's clock: `last` is compared with its readings
        self.last = clock()
        self.detail: str | None = None

    def beat(self, detail: str | None = None) -> None:
        self.last = self._clock()
        if detail is not None:
            self.detail = detail


@dataclass
class StageOutcome:
    detail: str | None = None
    finished: bool = False  # the document is done (a duplicate): skip the remaining stages


StageFn = Callable[[Document, Heartbeat], Awaitable[StageOutcome]]


@dataclass
class Stages:
    settings: IngestionSettings
    repo: IngestionRepository
    files: FileStore
    downloader: SafeDownloader
    embedder: Embedder
    sparse: SparseEncoder
    vectors: VectorStore

    def by_name(self) -> dict[str, StageFn]:
        return {"download": self.download, "parse": self.parse, "chunk": self.chunk,
                "embed": self.embed, "index": self.index}

    async def download(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        key = source_key(document.id)
        if document.storage_path and await self.files.exists(self.files.key_of(document.storage_path)):
            data = await self.files.get(self.files.key_of(document.storage_path))
            detail = "already stored" if document.source_url else "uploaded"
        else:
            if not document.source_url:
                raise PermanentStageError("document has neither a file nor a source URL")
            fetched = await self.downloader.fetch(document.source_url, heartbeat.beat)
            data = fetched.data
            path = await self.files.put(key, data)
            await self.repo.update_document(
                document.id, storage_path=path, file_size_bytes=len(data),
                content_type="application/pdf", sha256=hashlib.sha256(data).hexdigest())
            detail = f"{len(data)} bytes"
        sha = hashlib.sha256(data).hexdigest()
        if document.sha256 != sha:
            await self.repo.update_document(document.id, sha256=sha, file_size_bytes=len(data))
        # Customer material is deduplicated per owner when it is uploaded (material.py).
        original = None if document.is_material else await self.repo.find_completed_by_sha(
            sha, exclude=document.id)
        if original is not None:
            # Identical bytes are already searchable: this document costs nothing more.
            await self.repo.update_document(
                document.id, duplicate_of=original.id, chunk_count=original.chunk_count,
                page_count=original.page_count)
            for stage in STAGES[1:]:
                await self.repo.save_stage(document.id, StageRecord(
                    stage, StageState.COMPLETED, attempts=0, finished_at=utcnow(),
                    detail=f"skipped: identical to document {original.id}"))
            return StageOutcome(detail=f"identical to document {original.id}", finished=True)
        return StageOutcome(detail=detail)

    async def parse(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        data = await self.files.get(self.files.key_of(document.storage_path or source_key(document.id)))
        if document.content_type not in (None, PDF):  # customer material: DOCX, Markdown, text
            pages = await asyncio.to_thread(parse_material, data, document.content_type)
            heartbeat.beat(f"{len(pages)} pages")
            await self.files.put(pages_key(document.id), json.dumps([p.to_json() for p in pages]).encode())
            await self.repo.update_document(document.id, page_count=len(pages))
            return StageOutcome(detail=f"{len(pages)} pages")
        pages = await parse_pdf(
            data, page_timeout_s=self.settings.parse_page_timeout_s,
            document_timeout_s=self.settings.parse_document_timeout_s,
            max_pages=self.settings.parse_max_pages,
            on_page=lambda n, total: heartbeat.beat(f"page {n}/{total}"),
        )
        await self.files.put(pages_key(document.id), json.dumps([p.to_json() for p in pages]).encode())
        await self.repo.update_document(document.id, page_count=len(pages))
        return StageOutcome(detail=f"{len(pages)} pages")

    async def chunk(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        pages = [Page.from_json(p) for p in json.loads(await self.files.get(pages_key(document.id)))]
        chunker = chunk_by_page if document.is_material else chunk_pages
        drafts = chunker(pages, target_chars=self.settings.chunk_target_chars,
                         max_chars=self.settings.chunk_max_chars)
        if not drafts:
            raise PermanentStageError("no text to index")
        # Material of two owners may be the same bytes: its points are the document's own.
        sha = f"{document.sha256}:{document.id}" if document.is_material else document.sha256 or ""
        chunks = [Chunk(id=point_id(sha, i, d.text), document_id=document.id, chunk_index=i,
                        page_start=d.page_start, page_end=d.page_end, section=d.section, text=d.text)
                  for i, d in enumerate(drafts)]
        heartbeat.beat(f"{len(chunks)} chunks")
        await self.repo.replace_chunks(document.id, chunks)
        await self.repo.update_document(document.id, chunk_count=len(chunks))
        return StageOutcome(detail=f"{len(chunks)} chunks")

    async def embed(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        chunks = await self.repo.chunks(document.id)
        texts = [search_text(document, c) for c in chunks]
        batch = self.settings.embedding_batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch):
            vectors.extend(await self.embedder.embed_documents(texts[start:start + batch]))
            heartbeat.beat(f"{len(vectors)}/{len(texts)} chunks")
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(vectors, dtype=np.float32))
        await self.files.put(dense_key(document.id), buffer.getvalue())
        return StageOutcome(detail=f"{len(vectors)} vectors via {self.embedder.name}")

    async def index(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        chunks = await self.repo.chunks(document.id)
        dense = np.load(io.BytesIO(await self.files.get(dense_key(document.id))))
        if len(dense) != len(chunks):
            raise RuntimeError(f"{len(dense)} vectors for {len(chunks)} chunks: re-embedding")
        collection = self.collection_of(document)
        await self.vectors.ensure_collection(collection, int(dense.shape[1]))
        # Points of an earlier chunking of this document would otherwise linger.
        await self.vectors.delete_where(collection, {"document_id": document.id})
        batch = 256
        for start in range(0, len(chunks), batch):
            points = [
                VectorPoint(id=c.id, dense=dense[start + i].tolist(),
                            sparse=self.sparse.encode_document(search_text(document, c)),
                            payload=chunk_payload(document, c))
                for i, c in enumerate(chunks[start:start + batch])
            ]
            await self.vectors.upsert(collection, points)
            heartbeat.beat(f"{min(start + batch, len(chunks))}/{len(chunks)} points")
        return StageOutcome(detail=f"{len(chunks)} points")

    def collection_of(self, document: Document) -> str:
        """Customer material lives in a collection of its own: no research search can reach it."""
        return self.settings.material_collection if document.is_material else self.settings.qdrant_collection


def chunk_payload(document: Document, chunk: Chunk) -> dict[str, Any]:
    payload = _payload(document, chunk)
    if document.is_material:
        payload["owner"] = document.owner
        payload["audience"] = document.customer_id or OFFER
        payload["opportunity_scope"] = document.opportunity_id or ANY_OPPORTUNITY
    return payload


def _payload(document: Document, chunk: Chunk) -> dict[str, Any]:
    return {
        "document_id": document.id,
        "document_title": document.title,
        "company_symbol": document.company_symbol,
        "doc_type": document.doc_type,
        "fiscal_period": document.fiscal_period,
        "document_date": document.document_date.isoformat() if document.document_date else None,
        "page_number": chunk.page_start,
        "page_end": chunk.page_end,
        "section": chunk.section,
        "chunk_index": chunk.chunk_index,
        "text": chunk.text,
        "customer_id": document.customer_id,
        "opportunity_id": document.opportunity_id,
    }
