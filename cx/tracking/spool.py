"""The write-ahead spool: accepted messages are appended and fsync'd here before the client gets its 200.

Each web process appends to its own file (``<host>-<pid>-<random>.spool`` under CXDESK_HOME/tracking/spool),
so processes never contend. A record is one request's accepted messages::

    CXS1 <payload length> <crc32 hex>\\n<payload JSON>\\n

The loader (cx.tracking.loader) reads complete records only: a record torn by a crash fails its length or
checksum and was never acknowledged. Concurrent requests of one process share an fsync (group commit), which
is what lets a 2-core machine acknowledge tens of thousands of events a second durably.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import threading
import zlib
from pathlib import Path

from django.conf import settings

MAGIC = b"CXS1"
ROTATE_BYTES = 64 * 1024 * 1024


def spool_dir() -> Path:
    path = Path(settings.CXDESK_HOME) / "tracking" / "spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def encode_record(payload: dict) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"%s %d %08x\n%s\n" % (MAGIC, len(data), zlib.crc32(data), data)


def read_records(path: Path, offset: int, *, max_bytes: int = 32 * 1024 * 1024) -> tuple[list[dict], int]:
    """Complete records from ``offset``; returns them and the offset after the last complete one."""
    records: list[dict] = []
    with open(path, "rb") as handle:
        handle.seek(offset)
        chunk = handle.read(max_bytes)
    position = 0
    while position < len(chunk):
        newline = chunk.find(b"\n", position, position + 64)
        if newline < 0:
            break
        header = chunk[position:newline].split(b" ")
        if len(header) != 3 or header[0] != MAGIC:
            break
        try:
            length, crc = int(header[1]), int(header[2], 16)
        except ValueError:
            break
        start, end = newline + 1, newline + 1 + length
        if end + 1 > len(chunk):
            break
        data = chunk[start:end]
        if chunk[end:end + 1] != b"\n" or zlib.crc32(data) != crc:
            break
        records.append(json.loads(data))
        position = end + 1
    return records, offset + position


class SpoolWriter:
    """This process's spool file. ``append_sync`` writes and fsyncs one record; ``append`` (async) joins
    concurrent callers into one write and one fsync."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._size = 0
        self._pending: list[tuple[bytes, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.path: Path | None = None

    def _open(self) -> None:
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}.spool"
        self.path = spool_dir() / name
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._pid = os.getpid()
        self._size = 0
        # The new directory entry must be durable too.
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None or self._pid != os.getpid() or self._size > ROTATE_BYTES:
                if self._pid == os.getpid():
                    self._close()
                else:
                    self._fd = None  # inherited from a parent process: leave it to the parent
                self._open()
            try:
                written = os.write(self._fd, data)
                if written != len(data):
                    raise OSError(f"short write to the spool ({written} of {len(data)} bytes)")
                os.fdatasync(self._fd)
            except OSError:
                # Whatever reached the file is an incomplete record the loader stops at; continue elsewhere.
                self._close()
                raise
            self._size += len(data)

    def append_sync(self, record: bytes) -> None:
        self._write(record)

    async def append(self, record: bytes) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((record, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._write, b"".join(record for record, _ in batch))
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)


_writer = SpoolWriter()


def spool_writer() -> SpoolWriter:
    return _writer


def spool_backlog_bytes() -> int:
    """Bytes waiting in spool files (an upper bound: loaded files are deleted by the loader)."""
    total = 0
    for path in spool_dir().glob("*.spool"):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total
