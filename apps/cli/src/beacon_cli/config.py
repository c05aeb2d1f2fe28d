"""Where `beacon login` keeps its session: credentials.json in the user's config directory
(typer's app dir: ~/.config/beacon on Linux; BEACON_CONFIG_DIR overrides it), readable by
the user only. The base URL comes from --url, then BEACON_URL, then the one logged in to."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

DEFAULT_URL = "http://127.0.0.1:8000"  # make dev


@dataclass
class Session:
    base_url: str
    access_token: str
    refresh_token: str | None = None
    email: str | None = None


def config_dir() -> Path:
    return Path(os.environ.get("BEACON_CONFIG_DIR") or typer.get_app_dir("beacon"))


def session_path() -> Path:
    return config_dir() / "credentials.json"


def load_session() -> Session | None:
    path = session_path()
    if not path.is_file():
        return None
    try:
        return Session(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None  # a damaged file is the same as none: log in again


def save_session(session: Session) -> Path:
    path = session_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created private, not chmod-ed after: the tokens are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(session), handle)
    return path


def forget_session() -> bool:
    path = session_path()
    if path.is_file():
        path.unlink()
        return True
    return False
