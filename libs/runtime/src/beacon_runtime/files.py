"""Where document bytes and stage artifacts live: a directory (shared by replicas in
distributed mode, e.g. a mounted volume) or memory (embedded mode without FILES_DIR)."""

from __future__ import annotations

import asyncio
import os
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid file key {key!r}")
    return key


class FileStore(ABC):
    @abstractmethod
    async def put(self, key: str, data: bytes) -> str:
        """Store and return the storage path shown to clients."""

    @abstractmethod
    async def get(self, key: str) -> bytes: ...

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def size(self, key: str) -> int: ...

    @abstractmethod
    async def delete_folder(self, folder: str) -> int:
        """Remove every file under `folder/` (a document's source and artifacts); the count."""

    async def stream(self, key: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        data = await self.get(key)
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]

    def key_of(self, storage_path: str) -> str:
        return storage_path.split("://", 1)[-1]


class InMemoryFileStore(FileStore):
    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}

    async def put(self, key, data):
        self._files[check_key(key)] = bytes(data)
        return f"memory://{key}"

    async def get(self, key):
        try:
            return self._files[check_key(key)]
        except KeyError:
            raise FileNotFoundError(key) from None

    async def exists(self, key):
        return check_key(key) in self._files

    async def size(self, key):
        return len(await self.get(key))

    async def delete_folder(self, folder):
        prefix = check_key(folder) + "/"
        doomed = [key for key in self._files if key.startswith(prefix)]
        for key in doomed:
            del self._files[key]
        return len(doomed)


class LocalFileStore(FileStore):
    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self._root / check_key(key)

    async def put(self, key, data):
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # readers never see half a file

        await asyncio.to_thread(write)
        return f"file://{key}"

    async def get(self, key):
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def exists(self, key):
        return self._path(key).exists()

    async def size(self, key):
        return self._path(key).stat().st_size

    async def delete_folder(self, folder):
        import shutil

        path = self._path(folder)
        if not path.is_dir():
            return 0
        count = sum(1 for p in path.rglob("*") if p.is_file())
        await asyncio.to_thread(shutil.rmtree, path)
        return count

    async def stream(self, key, chunk_size=256 * 1024):
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()
