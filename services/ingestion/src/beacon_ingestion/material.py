"""Customer material of the report writer: upload, list, delete, expire, search.

A customer document is an ordinary document row (doc_type MATERIAL) that goes through the
same five stages, with three differences that keep it private to its owner:
- its vectors go to a collection of their own (`MATERIAL_COLLECTION`), so no research search,
  filter mistake or statistic can reach them, and each point carries `owner`, `audience`
  (the customer, or OFFER for the owner's offer material) and `opportunity_scope`;
- identical bytes are deduplicated per owner and tags, never across owners;
- deleting removes the row (stages and chunks cascade), the files and the vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from beacon_contracts.material import (
    MaterialHit,
    MaterialNeighbour,
    MaterialResults,
    MaterialSearchRequest,
    MaterialSearchResponse,
)
from beacon_runtime.bus.port import EventBus
from beacon_runtime.embeddings.port import Embedder, SparseEncoder
from beacon_runtime.logs import get_logger
from beacon_runtime.vectors.port import VectorStore

from beacon_ingestion.documents import PublishFailed
from beacon_ingestion.domain import (
    ANY_OPPORTUNITY,
    MATERIAL,
    OFFER,
    Document,
    DocumentStatus,
    NewDocument,
    utcnow,
)
from beacon_runtime.files import FileStore
from beacon_ingestion.pipeline.events import ingest_request
from beacon_ingestion.repository.port import IngestionRepository

log = get_logger(__name__)


class DocumentBusy(Exception):
    """The document is being ingested right now; deleting it must wait for the run."""


@dataclass(frozen=True)
class Upload:
    owner: str
    data: bytes
    content_type: str
    title: str
    customer_id: str | None = None
    opportunity_id: str | None = None
    company_id: int | None = None
    company_symbol: str | None = None


PUBLIC_SHARE = 3  # a third of a query's hits may come from the company's public filings


class MaterialService:
    def __init__(self, repo: IngestionRepository, files: FileStore, bus: EventBus, vectors: VectorStore,
                 embedder: Embedder, sparse: SparseEncoder, *, collection: str,
                 filings_collection: str | None = None,
                 retention_days: float | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self._repo = repo
        self._files = files
        self._bus = bus
        self._vectors = vectors
        self._embedder = embedder
        self._sparse = sparse
        self._collection = collection
        self._filings_collection = filings_collection
        self._retention = timedelta(days=retention_days) if retention_days else None
        self._clock = clock

    async def upload(self, upload: Upload, *, correlation_id: str | None = None) -> tuple[Document, bool]:
        """The new document (queued), or the owner's live one with the same bytes and tags."""
        sha = hashlib.sha256(upload.data).hexdigest()
        for existing in await self._repo.material_of(upload.owner):
            if (existing.sha256 == sha and existing.status != DocumentStatus.FAILED
                    and existing.customer_id == upload.customer_id
                    and existing.opportunity_id == upload.opportunity_id):
                return existing, False
        document = await self._repo.create_document(NewDocument(
            doc_type=MATERIAL, title=upload.title, company_id=upload.company_id,
            company_symbol=upload.company_symbol, sha256=sha, file_size_bytes=len(upload.data),
            content_type=upload.content_type, customer_id=upload.customer_id,
            opportunity_id=upload.opportunity_id, owner=upload.owner))
        path = await self._files.put(f"documents/{document.id}/source", upload.data)
        await self._repo.update_document(document.id, storage_path=path)
        try:
            await self._bus.publish(ingest_request(document.id, upload.owner, correlation_id))
        except Exception as exc:
            log.error("material.publish_failed", document_id=document.id, error=repr(exc))
            await self._repo.update_document(document.id, status=DocumentStatus.FAILED,
                                             error="could not queue the ingestion job")
            raise PublishFailed("bus: could not queue the ingestion job") from exc
        document.storage_path = path
        return document, True

    async def list(self, owner: str, *, customer_id: str | None = None,
                   opportunity_id: str | None = None) -> list[Document]:
        return [d for d in await self._repo.material_of(owner)
                if (customer_id is None or d.customer_id == customer_id)
                and (opportunity_id is None or d.opportunity_id == opportunity_id)]

    async def get(self, owner: str, document_id: int) -> Document | None:
        """Another owner's document is answered exactly like a missing one."""
        document = await self._repo.get_document(document_id)
        if document is None or not document.is_material or document.owner != owner:
            return None
        return document

    async def delete(self, owner: str, document_id: int) -> bool:
        document = await self.get(owner, document_id)
        if document is None:
            return False
        await self._remove(document)
        return True

    async def _remove(self, document: Document) -> None:
        async with self._repo.hold(document.id) as held:
            if not held:
                raise DocumentBusy(f"document {document.id} is being ingested")
            # Vectors and files first: a failure leaves the row, so the delete can be retried.
            await self._vectors.delete_where(self._collection, {"document_id": document.id})
            await self._files.delete_folder(f"documents/{document.id}")
            await self._repo.delete_document(document.id)
        log.info("material.deleted", document_id=document.id)

    async def expire(self) -> list[int]:
        """Delete material older than the retention (none without a retention setting)."""
        if self._retention is None:
            return []
        removed = []
        for document in await self._repo.expired_material(self._clock() - self._retention):
            try:
                await self._remove(document)
                removed.append(document.id)
            except DocumentBusy:
                continue  # the next sweep takes it
        if removed:
            log.info("material.expired", documents=len(removed))
        return removed

    async def search(self, owner: str, request: MaterialSearchRequest) -> MaterialSearchResponse:
        documents = [d for d in await self.list(owner)
                     if d.status == DocumentStatus.COMPLETED
                     and d.customer_id in (request.customer_id, None)
                     and d.opportunity_id in (request.opportunity_id, None)]
        if not documents:
            return MaterialSearchResponse(documents=0, results=[
                MaterialResults(query=q, hits=[]) for q in request.queries])
        live = {d.id for d in documents}
        scopes = [ANY_OPPORTUNITY] + ([request.opportunity_id] if request.opportunity_id else [])
        filters = {"owner": owner, "audience": [request.customer_id, OFFER], "opportunity_scope": scopes}
        # The customer's listed company (its material names it): its public filings are
        # sources too, after the customer's own material.
        symbols = sorted({d.company_symbol for d in documents
                          if d.company_symbol and d.customer_id == request.customer_id})
        results = []
        for query in request.queries:
            points = await self._vectors.hybrid_search(
                self._collection, await self._embedder.embed_query(query),
                self._sparse.encode_query(query), filters=filters, limit=request.limit)
            hits = [_hit(p, offer=p.payload.get("audience") == OFFER, chunk_index=p.payload.get("chunk_index"))
                    for p in points if int(p.payload["document_id"]) in live]
            hits += await self._public_hits(query, symbols, request.limit)
            results.append(MaterialResults(query=query, hits=hits))
        if request.neighbours:
            results = await self._with_neighbours(results)
        return MaterialSearchResponse(documents=len(documents), results=results)

    async def _public_hits(self, query: str, symbols: list[str], limit: int) -> list[MaterialHit]:
        if not symbols or self._filings_collection is None:
            return []
        points = await self._vectors.hybrid_search(
            self._filings_collection, await self._embedder.embed_query(query),
            self._sparse.encode_query(query), filters={"company_symbol": symbols},
            limit=max(1, limit // PUBLIC_SHARE))
        return [_hit(p, offer=False, public=True) for p in points]

    async def _with_neighbours(self, results: list[MaterialResults]) -> list[MaterialResults]:
        """Each hit with the chunks just before and after it in its document: a sentence that
        a chunk boundary cut in two is whole only with them. One read per document."""
        wanted: dict[int, set[int]] = {}
        for result in results:
            for hit in result.hits:
                if hit.chunk_index is not None:
                    wanted.setdefault(hit.document_id, set()).update({hit.chunk_index - 1, hit.chunk_index + 1})
        found = {}
        for document_id, indexes in wanted.items():
            for chunk in await self._repo.chunks_at(document_id, {i for i in indexes if i >= 0}):
                found[(document_id, chunk.chunk_index)] = MaterialNeighbour(
                    chunk_id=chunk.id, chunk_index=chunk.chunk_index, page_number=chunk.page_start,
                    section=chunk.section, text=chunk.text)
        return [MaterialResults(query=result.query, hits=[
            hit if hit.chunk_index is None else hit.model_copy(update={
                "previous": found.get((hit.document_id, hit.chunk_index - 1)),
                "next": found.get((hit.document_id, hit.chunk_index + 1))})
            for hit in result.hits]) for result in results]


def _hit(point, **flags) -> MaterialHit:
    payload = point.payload
    return MaterialHit(
        chunk_id=point.id, document_id=int(payload["document_id"]),
        document_title=payload.get("document_title") or "",
        page_number=int(payload.get("page_number") or 1), section=payload.get("section"),
        text=payload.get("text") or "", score=point.score, **flags)
