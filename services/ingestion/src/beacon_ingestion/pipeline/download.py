"""Downloading a source document without becoming an SSRF proxy.

- Only http and https. Every host name is resolved first and every address it resolves to
  must be public: private, loopback, link-local (cloud metadata), shared, multicast, reserved
  and unspecified addresses are refused, including IPv4-mapped IPv6 and numeric forms like
  `http://2130706433/`. Hosts listed in INGEST_ALLOWED_HOSTS (`host` or `host:port`) are
  exempt, for internal file servers and tests.
- The connection goes to the address that was checked (the Host header and TLS SNI keep the
  name), so DNS rebinding between check and connect cannot redirect it.
- Redirects are followed by hand, each hop checked again, at most `max_redirects`.
- The body is streamed and capped at `max_bytes` (Content-Length is checked first); only PDF
  content types (or octet-stream) are accepted, and the bytes must start like a PDF.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from beacon_ingestion.pipeline.errors import PermanentStageError

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/octet-stream",
                       "binary/octet-stream", "application/download", ""})
Progress = Callable[[str], None]


class DownloadRefused(PermanentStageError):
    pass


class DownloadFailed(Exception):
    """Transient: the server or the network failed; a later attempt may succeed."""


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str
    final_url: str


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class SafeDownloader:
    def __init__(
        self,
        *,
        allowed_hosts: frozenset[str] = frozenset(),
        max_bytes: int = 60 * 1024 * 1024,
        timeout_s: float = 60.0,
        max_redirects: int = 5,
    ) -> None:
        self._allowed = allowed_hosts
        self._max_bytes = max_bytes
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self._max_redirects = max_redirects
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # One client (and TLS context) for every download; connections go to checked IPs.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False,
                                             trust_env=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def check_url(self, url: str) -> tuple[str, str, int, str]:
        """(scheme, host, port, address to connect to) or DownloadRefused."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise DownloadRefused(f"refused URL scheme {scheme or '(none)'!r}: only http and https")
        host = (parts.hostname or "").lower()
        if not host:
            raise DownloadRefused("refused URL without a host")
        if parts.username or parts.password:
            raise DownloadRefused("refused URL with credentials")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise DownloadRefused(f"refused URL: {exc}") from exc
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise DownloadRefused(f"cannot resolve host {host!r}") from exc
        addresses = sorted({info[4][0] for info in infos})
        if not addresses:
            raise DownloadRefused(f"cannot resolve host {host!r}")
        allowed = host in self._allowed or f"{host}:{port}" in self._allowed
        if not allowed:
            private = [a for a in addresses if not is_public(a)]
            if private:
                raise DownloadRefused(
                    f"refused host {host!r}: it resolves to a non-public address ({private[0]}); "
                    "list it in INGEST_ALLOWED_HOSTS to allow it")
        return scheme, host, port, addresses[0]

    async def fetch(self, url: str, progress: Progress | None = None) -> Downloaded:
        beat = progress or (lambda _detail: None)
        client = self._http()
        for _hop in range(self._max_redirects + 1):
            scheme, host, port, address = await self.check_url(url)
            parts = urlsplit(url)
            literal = f"[{address}]" if ":" in address else address
            target = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
            default_port = port == (443 if scheme == "https" else 80)
            headers = {"Host": host if default_port else f"{host}:{port}",
                       "Accept": "application/pdf, application/octet-stream;q=0.9"}
            try:
                async with client.stream("GET", target, headers=headers,
                                         extensions={"sni_hostname": host}) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise DownloadRefused(f"redirect without Location from {host}")
                        url = urljoin(url, location)
                        beat(f"redirected to {urlsplit(url).hostname}")
                        continue
                    return await self._read(response, url, beat)
            except httpx.TimeoutException as exc:
                raise DownloadFailed(f"timed out downloading from {host}") from exc
            except httpx.TransportError as exc:
                raise DownloadFailed(f"network error downloading from {host}: {exc}") from exc
        raise DownloadRefused(f"more than {self._max_redirects} redirects")

    async def _read(self, response: httpx.Response, url: str, beat: Progress) -> Downloaded:
        status = response.status_code
        if status == 429 or status >= 500:
            raise DownloadFailed(f"source answered HTTP {status}")
        if status != 200:
            raise DownloadRefused(f"source answered HTTP {status}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in PDF_TYPES:
            raise DownloadRefused(f"content type {content_type!r} is not a PDF")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise DownloadRefused(f"file too large: {int(declared)} bytes > limit {self._max_bytes}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self._max_bytes:
                raise DownloadRefused(f"file too large: more than {self._max_bytes} bytes")
            beat(f"{len(body)} bytes")
        if not bytes(body[:1024]).lstrip().startswith(b"%PDF-"):
            raise DownloadRefused("downloaded file is not a PDF (no %PDF- header)")
        return Downloaded(bytes(body), content_type or "application/pdf", url)
