"""SQLite connection set-up that only needs doing once per process.

``PRAGMA journal_mode=WAL`` is stored in the database file, but setting it takes a lock: run on every new
connection (Django's ``init_command``) it made each connection wait on the task worker's writes. It is set on
the first connection of each process (a new database file gets WAL from whichever process opens it first);
the per-connection pragmas stay in ``init_command``.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_done: set[str] = set()


def sqlite_wal_once(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: switch the database file to WAL the first time this process opens it."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME"))
    with _lock:
        if name in _done:
            return
        _done.add(name)
    connection.connection.execute("PRAGMA journal_mode=WAL")
