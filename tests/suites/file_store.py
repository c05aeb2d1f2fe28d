"""One contract for both file stores (ingestion's document bytes and stage artifacts): what
is put comes back byte for byte, by its key or the storage path it returned; keys are
checked the same way. Both run in tests/unit/contract (a directory is no server)."""

from __future__ import annotations

import pytest

from beacon_runtime.files import InMemoryFileStore, LocalFileStore

BLOB = bytes(range(256)) * 3000  # 768 kB: more than one stream chunk, every byte value


@pytest.fixture
def files(backend, tmp_path):
    return InMemoryFileStore() if backend == "memory" else LocalFileStore(tmp_path / "files")


async def test_what_is_put_comes_back_by_key_and_by_storage_path(files):
    path = await files.put("documents/7/original.pdf", BLOB)
    assert await files.get("documents/7/original.pdf") == BLOB
    assert await files.get(files.key_of(path)) == BLOB
    assert await files.size("documents/7/original.pdf") == len(BLOB)


async def test_a_put_replaces_the_whole_file(files):
    await files.put("a/b.txt", b"a much longer first version")
    await files.put("a/b.txt", b"short")
    assert await files.get("a/b.txt") == b"short"


async def test_exists_only_after_a_put(files):
    assert await files.exists("a/b.txt") is False
    await files.put("a/b.txt", b"")
    assert await files.exists("a/b.txt") is True
    assert await files.size("a/b.txt") == 0


async def test_a_stream_is_the_file_in_chunks(files):
    await files.put("big.bin", BLOB)
    chunks = [chunk async for chunk in files.stream("big.bin", chunk_size=100_000)]
    assert len(chunks) == 8 and all(len(c) <= 100_000 for c in chunks)
    assert b"".join(chunks) == BLOB


async def test_a_missing_file_is_file_not_found(files):
    with pytest.raises(FileNotFoundError):
        await files.get("nothing/here")
    with pytest.raises(FileNotFoundError):
        await files.size("nothing/here")


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/absolute", "a//b", "spaces in it",
                                 "", "a/", "ctrl\nchar"])
async def test_keys_outside_the_store_or_malformed_are_refused(files, key):
    with pytest.raises(ValueError):
        await files.put(key, b"x")
    with pytest.raises(ValueError):
        await files.exists(key)
