"""Shared state for the workers of one host: files in one directory.

``barberpro serve --workers N`` without Redis gives its workers a fresh directory per run.
Values and hash fields are files replaced atomically (a reader sees the old file or the new one,
never half of one). A lease is a file holding its owner and its expiry, read and rewritten under
an exclusive ``flock`` on a lock file beside it, so of several workers asking at once exactly one
gets it, and a lease its holder stops renewing (a worker killed) expires as it does in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, unquote

__all__ = ["DirectoryStore"]


def _name(key: str) -> str:
    """A file name for ``key`` that keeps it apart from every other key."""
    return quote(key, safe="")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class DirectoryStore:
    """A KeyValueStore on files in ``path`` (created when missing)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._dir = Path(path)
        self._dir.mkdir(parents=True, exist_ok=True)
        # Wall time: every worker of the host reads the same clock.
        self._clock = clock

    async def ping(self) -> bool:
        """True when the directory is there."""
        return self._dir.is_dir()

    # -- values: "<expiry or empty>\n<value>" ----------------------------------------------

    def _value_path(self, key: str) -> Path:
        return self._dir / f"{_name(key)}.value"

    async def get(self, key: str) -> bytes | None:
        """Return the value stored under ``key``, None when there is none or it expired."""
        data = _read(self._value_path(key))
        if data is None:
            return None
        expiry, _, value = data.partition(b"\n")
        if expiry and float(expiry) <= self._clock():
            return None
        return value

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Replace the value of ``key`` atomically."""
        expiry = b"" if ttl_s is None else repr(self._clock() + ttl_s).encode()
        _write(self._value_path(key), expiry + b"\n" + value)

    # -- leases: "<expiry>\n<owner>" under a flock ------------------------------------------

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[Path]:
        fd = os.open(self._dir / f"{_name(key)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._dir / f"{_name(key)}.lease"
        finally:
            os.close(fd)  # closing drops the flock

    def _holder(self, path: Path) -> str | None:
        data = _read(path)
        if data is None:
            return None
        expiry, _, owner = data.partition(b"\n")
        if not expiry or float(expiry) <= self._clock():
            return None
        return owner.decode()

    async def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take or renew the lease for ``owner`` while no other owner holds it."""
        with self._locked(key) as path:
            holder = self._holder(path)
            if holder is not None and holder != owner:
                return False
            _write(path, repr(self._clock() + ttl_s).encode() + b"\n" + owner.encode())
            return True

    async def release(self, key: str, owner: str) -> bool:
        """Drop the lease on ``key`` when ``owner`` holds it."""
        with self._locked(key) as path:
            if self._holder(path) != owner:
                return False
            path.unlink(missing_ok=True)
            return True

    # -- hashes: a directory per hash, a file per field -------------------------------------

    def _hash_dir(self, key: str) -> Path:
        return self._dir / f"{_name(key)}.hash"

    async def hset(self, key: str, field: str, value: bytes) -> None:
        """Replace one field's file atomically."""
        await asyncio.to_thread(_write, self._hash_dir(key) / _name(field), value)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        """Read every field's file."""
        return await asyncio.to_thread(self._hgetall, self._hash_dir(key))

    @staticmethod
    def _hgetall(directory: Path) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if not directory.is_dir():
            return found
        for path in directory.iterdir():
            if path.name.startswith("."):
                continue  # a write in progress
            data = _read(path)
            if data is not None:
                found[unquote(path.name)] = data
        return found

    async def hdel(self, key: str, *fields: str) -> None:
        """Delete the fields' files."""
        directory = self._hash_dir(key)
        for field in fields:
            (directory / _name(field)).unlink(missing_ok=True)

    async def close(self) -> None:
        """Nothing stays open between calls."""
