"""Customer material of the report writer through the real ingestion pipeline (in-process
twins): PDF, DOCX, Markdown and text; owner isolation; per-owner deduplication; deletion of
file, chunks and vectors; retention; hostile uploads fail their document, not the worker."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from beacon_ingestion.domain import utcnow
from ingestion_testkit import CORRUPT_PDF, Harness, make_pdf

OWNER_A = {"X-Material-Owner": "key:1"}
OWNER_B = {"X-Material-Owner": "key:2"}
ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}


def make_docx(paragraphs: list[str], *, page_break_after: int | None = None) -> bytes:
    body = []
    for i, text in enumerate(paragraphs):
        body.append(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>")
        if page_break_after is not None and i == page_break_after:
            body.append('<w:p><w:r><w:br w:type="page"/></w:r></w:p>')
    xml = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
           '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           + "".join(body) + "</w:body></w:document>")
    return _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": xml})


def _zip(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    """30 MB of XML that deflates to a few tens of kilobytes."""
    head = ('<?xml version="1.0"?><w:document xmlns:w='
            '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
    xml = head + " " * (30 * 1024 * 1024) + "</w:t></w:r></w:p></w:body></w:document>"
    return _zip({"word/document.xml": xml})


async def upload(h: Harness, data: bytes, name: str, owner=OWNER_A, **fields):
    files = {"file": (name, data)}
    return await h.client.post("/internal/material/documents", files=files, data=fields, headers=owner)


async def search(h: Harness, owner, customer_id: str, *queries: str, **extra):
    response = await h.client.post("/internal/material/search", headers=owner,
                                   json={"customer_id": customer_id, "queries": list(queries), **extra})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def h(tmp_path):
    async with Harness(tmp_path) as harness:
        yield harness


async def test_every_format_is_ingested_and_searchable_by_its_owner_only(h):
    pdf = make_pdf(3, company="Acme Logistics", marker="Acme requires 99.95 percent uptime.")
    docx = make_docx(["Security requirements", "All data must stay in the Frankfurt region.",
                      "Meeting notes", "Go-live is planned for 1 March 2027."], page_break_after=1)
    md = b"# Meeting notes\n\nThe customer wants **SAP S/4HANA** integration by Q3.\n\fPage two: budget is EUR 1.2 million.\n"
    ids = {}
    for name, data, fields in (("rfp.pdf", pdf, {"customer_id": "acme"}),
                               ("security.docx", docx, {"customer_id": "acme", "opportunity_id": "opp-1"}),
                               ("notes.md", md, {"customer_id": "acme", "title": "Kick-off notes"}),
                               ("rates.txt", b"Our day rate for a senior engineer is EUR 1,400.", {})):
        response = await upload(h, data, name, **fields)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "pending" and response.json()["created"] is True
        ids[name] = response.json()["document_id"]
    await h.drain()

    listed = (await h.client.get("/internal/material/documents", headers=OWNER_A)).json()["documents"]
    by_id = {d["document_id"]: d for d in listed}
    assert set(by_id) == set(ids.values())
    assert all(d["status"] == "completed" and d["chunk_count"] > 0 for d in listed), listed
    assert by_id[ids["rfp.pdf"]]["page_count"] == 3
    assert by_id[ids["security.docx"]]["page_count"] == 2
    assert by_id[ids["notes.md"]]["page_count"] == 2 and by_id[ids["notes.md"]]["title"] == "Kick-off notes"
    assert by_id[ids["rates.txt"]]["customer_id"] is None  # the owner's offer material

    found = await search(h, OWNER_A, "acme", "Frankfurt region data residency", "budget", "day rate",
                         opportunity_id="opp-1")
    frankfurt, budget, rate = found["results"]
    assert found["documents"] == 4
    assert frankfurt["hits"][0]["document_id"] == ids["security.docx"]
    assert frankfurt["hits"][0]["page_number"] == 1
    assert any(hit["document_id"] == ids["notes.md"] and hit["page_number"] == 2 for hit in budget["hits"])
    assert rate["hits"][0]["document_id"] == ids["rates.txt"] and rate["hits"][0]["offer"] is True

    # Another opportunity of the same customer does not see opp-1's document.
    other_opp = await search(h, OWNER_A, "acme", "Frankfurt region", opportunity_id="opp-2")
    assert ids["security.docx"] not in {hit["document_id"] for hit in other_opp["results"][0]["hits"]}

    # Another owner: nothing listed, nothing found, the documents do not exist for it.
    assert (await h.client.get("/internal/material/documents", headers=OWNER_B)).json() == {"documents": []}
    assert (await search(h, OWNER_B, "acme", "Frankfurt region"))["results"][0]["hits"] == []
    assert (await h.client.get(f"/internal/material/documents/{ids['rfp.pdf']}", headers=OWNER_B)).status_code == 404

    # The research API neither lists, counts, shows nor retrieves customer material.
    research = (await h.client.get("/api/v1/documents", headers=ADMIN)).json()
    assert research["total"] == 0 and research["documents"] == []
    assert (await h.client.get(f"/api/v1/documents/{ids['rfp.pdf']}", headers=ADMIN)).status_code == 404
    stats = (await h.client.get("/api/v1/admin/stats/ingestion", headers=ADMIN)).json()
    assert stats["total_documents"] == 0 and stats["total_chunks"] == 0
    hits = (await h.client.post("/internal/search", json={"query": "Frankfurt region uptime"})).json()["hits"]
    assert hits == []


async def test_deduplication_is_per_owner_and_tags(h):
    data = b"Acme wants a 24/7 service desk."
    first = (await upload(h, data, "a.txt", customer_id="acme")).json()
    again = (await upload(h, data, "a.txt", customer_id="acme")).json()
    other_customer = (await upload(h, data, "a.txt", customer_id="globex")).json()
    other_owner = (await upload(h, data, "a.txt", owner=OWNER_B, customer_id="acme")).json()
    assert again == {"document_id": first["document_id"], "status": "pending", "created": False}
    assert other_customer["created"] and other_owner["created"]
    assert len({first["document_id"], other_customer["document_id"], other_owner["document_id"]}) == 3
    await h.drain()
    # Same bytes, two owners: each finds its own document, never the other's.
    for owner, expected in ((OWNER_A, first["document_id"]), (OWNER_B, other_owner["document_id"])):
        hits = (await search(h, owner, "acme", "service desk"))["results"][0]["hits"]
        assert {hit["document_id"] for hit in hits} == {expected}


async def test_delete_removes_file_chunks_and_vectors(h):
    document_id = (await upload(h, b"Acme's NDA-protected requirement: 12 warehouses.", "nda.txt",
                                customer_id="acme")).json()["document_id"]
    await h.drain()
    collection = h.settings.material_collection
    assert await h.vectors.count(collection, {"document_id": document_id}) > 0
    assert await h.files.exists(f"documents/{document_id}/source")

    assert (await h.client.delete(f"/internal/material/documents/{document_id}", headers=OWNER_B)).status_code == 404
    response = await h.client.delete(f"/internal/material/documents/{document_id}", headers=OWNER_A)
    assert response.status_code == 200 and response.json() == {"document_id": document_id, "deleted": True}

    assert await h.vectors.count(collection, {"document_id": document_id}) == 0
    assert not await h.files.exists(f"documents/{document_id}/source")
    assert not await h.files.exists(f"documents/{document_id}/pages.json")
    assert await h.repo.chunks(document_id) == []
    assert await h.repo.get_document(document_id) is None
    assert (await search(h, OWNER_A, "acme", "warehouses"))["documents"] == 0
    assert (await h.client.delete(f"/internal/material/documents/{document_id}", headers=OWNER_A)).status_code == 404


async def test_hostile_uploads_fail_their_document_and_the_worker_goes_on(h):
    bomb = (await upload(h, zip_bomb_docx(), "bomb.docx", customer_id="acme")).json()["document_id"]
    broken = (await upload(h, CORRUPT_PDF, "broken.pdf", customer_id="acme")).json()["document_id"]
    no_body = (await upload(h, _zip({"other.xml": "<x/>"}), "empty.docx", customer_id="acme")).json()["document_id"]
    entity = _zip({"word/document.xml": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>'})
    dtd = (await upload(h, entity, "dtd.docx", customer_id="acme")).json()["document_id"]
    fine = (await upload(h, b"Acme needs SSO with Azure AD.", "ok.txt", customer_id="acme")).json()["document_id"]
    await h.drain()
    get = lambda i: h.client.get(f"/internal/material/documents/{i}", headers=OWNER_A)  # noqa: E731
    errors = {}
    for document_id in (bomb, broken, no_body, dtd):
        detail = (await get(document_id)).json()
        assert detail["status"] == "failed", detail
        errors[document_id] = detail["error"]
    assert "zip bomb" in errors[bomb]
    assert "PDF" in errors[broken]
    assert "no word/document.xml" in errors[no_body]
    assert "DTD" in errors[dtd]
    assert (await get(fine)).json()["status"] == "completed"


async def test_unsupported_and_malformed_uploads_are_refused_with_a_clear_error(h):
    cases = [
        ({"file": ("x.bin", b"\x00\x01\x02binary")}, {}, "file"),
        ({"file": ("x.zip", _zip({"a.txt": "x"}))}, {}, "file"),
        ({"file": ("x.txt", b"ok")}, {"customer_id": "bad id!"}, "customer_id"),
        ({"file": ("x.txt", b"ok")}, {"opportunity_id": "opp-1"}, "opportunity_id"),
        ({"file": ("x.txt", b"ok")}, {"company_symbol": "NOPE"}, "company_symbol"),
    ]
    for files, data, field in cases:
        response = await h.client.post("/internal/material/documents", files=files, data=data, headers=OWNER_A)
        assert response.status_code == 400, (field, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    response = await h.client.post("/internal/material/documents", files={"file": ("x.txt", b"ok")})
    assert response.status_code == 400  # no owner


async def test_retention_expires_old_material(tmp_path):
    async with Harness(tmp_path, material_retention_days=30, material_sweep_s=3600) as h:
        old = (await upload(h, b"Old RFP text about 5 sites.", "old.txt", customer_id="acme")).json()["document_id"]
        await h.drain()
        await h.repo.update_document(old, created_at=utcnow() - timedelta(days=31))
        new = (await upload(h, b"New RFP text about 7 sites.", "new.txt", customer_id="acme")).json()["document_id"]
        await h.drain()
        assert await h.service.material.expire() == [old]
        listed = (await h.client.get("/internal/material/documents", headers=OWNER_A)).json()["documents"]
        assert [d["document_id"] for d in listed] == [new]
        assert await h.vectors.count(h.settings.material_collection, {"document_id": old}) == 0


async def test_search_with_neighbours_returns_the_chunks_around_each_hit(h):
    # Three pages, one chunk each: the sentence on page 1 runs on to page 2.
    text = (b"Tenders close on 1 March 2027. The gateway must encrypt card data with\f"
            b"TLS 1.2 or higher at every hop. Settlement of payments runs daily.\f"
            b"The helpdesk answers within four hours on working days.")
    document_id = (await upload(h, text, "rfp.txt", customer_id="acme")).json()["document_id"]
    await h.drain()
    plain = (await search(h, OWNER_A, "acme", "settlement of payments runs daily"))["results"][0]["hits"]
    assert plain[0]["page_number"] == 2
    assert plain[0]["previous"] is None and plain[0]["next"] is None  # only when asked
    hits = (await search(h, OWNER_A, "acme", "settlement of payments runs daily",
                         neighbours=True))["results"][0]["hits"]
    by_page = {hit["page_number"]: hit for hit in hits}
    middle = by_page[2]
    assert middle["previous"]["page_number"] == 1 and middle["previous"]["text"].endswith("card data with")
    assert middle["previous"]["chunk_index"] == middle["chunk_index"] - 1
    assert middle["next"]["page_number"] == 3 and middle["next"]["text"].startswith("The helpdesk")
    assert all(hit["document_id"] == document_id for hit in hits)
    first, last = by_page.get(1), by_page.get(3)
    if first is not None:
        assert first["previous"] is None  # no chunk before the first
    if last is not None:
        assert last["next"] is None


async def test_a_listed_customers_public_filings_are_sources_too(h):
    """Material uploaded with the customer's `company_symbol` brings that company's public
    filings into the search, flagged `public`, after the material; never another company's,
    and never for a customer whose material names no company."""
    for symbol, company in (("RELIANCE.NS", "Reliance Industries"), ("TCS.NS", "Tata Consultancy")):
        filing = await h.client.post(
            "/api/v1/documents/upload", headers=ADMIN, files={"file": ("ar.pdf", make_pdf(2, company=company))},
            data={"company_symbol": symbol, "doc_type": "annual_report", "fiscal_period": "FY2024"})
        assert filing.status_code == 202, filing.text
    listed = await upload(h, b"Our retail stores need a new point of sale system by 2027.", "rfp.txt",
                          customer_id="ril", company_symbol="RELIANCE.NS")
    assert listed.status_code == 202, listed.text
    await upload(h, b"Our retail stores need a new point of sale system by 2027.", "rfp.txt",
                 customer_id="shop")
    await h.drain()

    hits = (await search(h, OWNER_A, "ril", "retail digital services businesses"))["results"][0]["hits"]
    public = [hit for hit in hits if hit["public"]]
    assert public and all("Reliance Industries" in hit["text"] for hit in public)
    assert not any("Tata Consultancy" in hit["text"] for hit in hits)
    assert not hits[0]["public"]  # the customer's own material first
    unlisted = (await search(h, OWNER_A, "shop", "retail digital services businesses"))["results"][0]["hits"]
    assert unlisted and not any(hit["public"] for hit in unlisted)
