"""The HTTP side of `beacon`: one httpx client with the bearer token, the research error
envelope turned into a one-line message, and one refresh when the access token expired."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from beacon_cli.config import Session, save_session


class ApiFailure(Exception):
    """An answer that is not a success, said as the API said it."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        message = error.get("message") or response.text[:200] or response.reason_phrase
        details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.get("details") or [])
        code = error.get("code") or str(response.status_code)
        super().__init__(f"{code} ({response.status_code}): {message}" + (f" [{details}]" if details else ""))


class Api:
    def __init__(self, base_url: str, session: Session | None = None, *, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict[str, str]:
        if self.session is None:
            return {}
        return {"Authorization": f"Bearer {self.session.access_token}"}

    def _refresh(self) -> bool:
        if self.session is None or not self.session.refresh_token:
            return False
        response = self._http.post("/api/v1/auth/refresh", json={"refresh_token": self.session.refresh_token})
        if response.status_code != 200:
            return False
        body = response.json()
        self.session.access_token = body["access_token"]
        self.session.refresh_token = body.get("refresh_token", self.session.refresh_token)
        save_session(self.session)
        return True

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, headers=self._headers(), **kwargs)
        if response.status_code == 401 and self._refresh():
            response = self._http.request(method, path, headers=self._headers(), **kwargs)
        if response.status_code >= 400:
            raise ApiFailure(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=body, **kwargs) if body is not None else \
            self.request("POST", path, **kwargs)
        return response.json() if response.content else None

    def login(self, email: str, password: str) -> dict[str, Any]:
        response = self._http.post("/api/v1/auth/login", json={"email": email, "password": password})
        if response.status_code != 200:
            raise ApiFailure(response)
        return response.json()

    def stream_events(self, path: str, body: dict[str, Any]) -> Iterator[tuple[str, str]]:
        """Server-sent events of a POST, as (event, data), until the server ends the stream."""
        with self._http.stream("POST", path, json=body, headers=self._headers(),
                               timeout=httpx.Timeout(30.0, read=None)) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiFailure(response)
            event, data = "message", []
            for line in response.iter_lines():
                if line.startswith(":"):
                    continue  # keep-alive comment
                if line == "":
                    if data:
                        yield event, "\n".join(data)
                    event, data = "message", []
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)
