"""Checks on attachments before they are stored: archives that expand into far more than they weigh (zip
bombs) are refused. Pure Python."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

MAX_EXPANDED_BYTES = 200 * 1024 * 1024  # what an archive may expand to
MAX_RATIO = 200  # expanded / compressed, for archives that expand to more than RATIO_FLOOR
RATIO_FLOOR = 20 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_NESTING = 3

_STREAM_OPENERS = {b"\x1f\x8b": gzip.GzipFile, b"BZh": bz2.BZ2File, b"\xfd7zXZ\x00": lzma.LZMAFile}


def _stream_expanded_size(payload: bytes, opener) -> int:
    """Expanded size of a gzip/bz2/xz stream, reading at most MAX_EXPANDED_BYTES + 1."""
    total = 0
    try:
        with opener(io.BytesIO(payload)) as stream:
            while total <= MAX_EXPANDED_BYTES:
                chunk = stream.read(1024 * 1024)
                if not chunk:
                    break
                total += len(chunk)
    except (OSError, EOFError, lzma.LZMAError, ValueError):
        return total  # a broken archive is stored as it is: it cannot expand
    return total


def archive_problem(payload: bytes, *, depth: int = 0) -> str | None:
    """Why this attachment must not be accepted, or None."""
    if depth > MAX_NESTING:
        return "archives nested too deeply"
    if payload[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(payload))
            entries = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
            return None
        if len(entries) > MAX_ENTRIES:
            return f"zip archive with {len(entries)} entries"
        declared = sum(entry.file_size for entry in entries)
        if declared > MAX_EXPANDED_BYTES:
            return f"zip archive expands to {declared // 2**20} MB"
        if declared > RATIO_FLOOR and declared > MAX_RATIO * max(len(payload), 1):
            return f"zip archive expands {declared // max(len(payload), 1)}x (zip bomb)"
        for entry in entries[:50]:
            if entry.filename.lower().endswith((".zip", ".gz", ".bz2", ".xz")) and entry.file_size < 50 * 2**20:
                try:
                    inner = archive.read(entry)
                except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, NotImplementedError, EOFError):
                    continue
                problem = archive_problem(inner, depth=depth + 1)
                if problem:
                    return f"{entry.filename}: {problem}"
        return None
    for magic, opener in _STREAM_OPENERS.items():
        if payload.startswith(magic):
            expanded = _stream_expanded_size(payload, opener)
            if expanded > MAX_EXPANDED_BYTES:
                return f"compressed file expands to more than {MAX_EXPANDED_BYTES // 2**20} MB"
            if expanded > RATIO_FLOOR and expanded > MAX_RATIO * len(payload):
                return f"compressed file expands {expanded // len(payload)}x (zip bomb)"
    return None
