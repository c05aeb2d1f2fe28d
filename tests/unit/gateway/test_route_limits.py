"""The body limit each route's policy line declares: uploads and imports take ingestion's,
not the gateway's default, and answer 413 in the research format beyond it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from research_stack import bearer, research_stack

from beacon_gateway.repository import Role


def echo_ingestion() -> FastAPI:
    upstream = FastAPI()

    @upstream.post("/api/v1/documents/upload", status_code=202)
    async def upload(request: Request):
        return {"document_id": 1, "status": "pending", "message": f"{len(await request.body())} bytes"}

    return upstream


async def test_an_upload_larger_than_the_default_limit_reaches_ingestion():
    async with research_stack(max_body_bytes=1024, upload_max_bytes=4096,
                              internal_apps={"ingestion": echo_ingestion()}) as (client, tokens, _):
        admin = bearer(tokens[Role.ADMIN])
        files = {"file": ("a.pdf", b"%PDF-" + b"x" * 3000, "application/pdf")}
        accepted = await client.post("/api/v1/documents/upload", headers=admin, files=files,
                                     data={"doc_type": "annual_report"})
        assert accepted.status_code == 202, accepted.text
        assert int(accepted.json()["message"].split()[0]) > 3000, "the whole multipart body arrived"
        # Everything else keeps the default.
        login = await client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "x" * 2000})
        assert login.status_code == 413


async def test_an_upload_beyond_the_upload_limit_is_413_in_the_research_format():
    async with research_stack(upload_max_bytes=4096,
                              internal_apps={"ingestion": echo_ingestion()}) as (client, tokens, _):
        admin = bearer(tokens[Role.ADMIN])
        limit = 4096 + 64 * 1024  # the file's limit plus the multipart envelope around it
        files = {"file": ("a.pdf", b"%PDF-" + b"x" * limit, "application/pdf")}
        declared = await client.post("/api/v1/documents/upload", headers=admin, files=files)
        assert declared.status_code == 413
        assert declared.json()["error"] == {"code": "PAYLOAD_TOO_LARGE", "details": [],
                                            "message": f"Request body exceeds {limit} bytes"}

        async def chunks():
            for _ in range(limit // 8192 + 2):
                yield b"x" * 8192

        streamed = await client.post("/api/v1/documents/upload", headers={
            **admin, "Content-Type": "multipart/form-data; boundary=x"}, content=chunks())
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
