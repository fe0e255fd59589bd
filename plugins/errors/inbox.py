"""The inbox: accepted envelopes, appended to the plugin's spool (`ctx.spool("inbox")`)
before the SDK hears "200", until the digest has stored them.

Appending is one `write` system call on the event loop: no transaction, no thread hop, no
waiting, and as durable against a killed process as an SQLite commit in WAL mode with
`synchronous=NORMAL` (see `mindframe.sdk.spool`). The digest reads the spool from a cursor
it moves in the same transaction as the events it stores.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext
from mindframe.sdk.spool import Spool

from .models import inbox

RECORD = struct.Struct("<dIB")  # received_at, project_id, length of the Content-Encoding
SPOOL_NAME = "inbox"


class Inbox:
    def __init__(self, ctx: PluginContext, on_accept: Callable[[int], None]) -> None:
        self._ctx = ctx
        self._on_accept = on_accept
        self.spool: Spool | None = None
        self.accepted = 0  # envelopes appended since start, for health
        self.last_error: str | None = None

    def open(self) -> Spool:
        self.spool = self._ctx.spool(SPOOL_NAME)
        return self.spool

    def add(
        self,
        project_id: int,
        body: bytes,
        encoding: str | None = None,
    ) -> int:
        """Append one envelope as sent (compressed by `encoding`: a sixth of the bytes to
        write); its position once durable (OSError if it could not be written)."""
        if self.spool is None:
            raise RuntimeError("the error tracker is not started")
        name = (encoding or "").encode("ascii", "replace")[:255]
        header = RECORD.pack(time.time(), project_id, len(name))
        try:
            at = self.spool.append(header + name + body)
        except OSError as error:
            self.last_error = f"{type(error).__name__}: {error}"
            raise
        self.last_error = None
        self.accepted += 1
        self._on_accept(1)
        return at

    async def adopt_waiting_rows(self) -> int:
        """Envelopes an older version left waiting in `errors_inbox` move to the spool (an
        envelope moved twice by a crash in between is one event: the digest skips event
        ids it has stored)."""
        rows = await self._ctx.transaction(_waiting_rows)
        for _, project_id, received_at, body, encoding in rows:
            name = (encoding or "").encode("ascii", "replace")[:255]
            assert self.spool is not None
            self.spool.append(RECORD.pack(received_at, project_id, len(name)) + name + body)
        if rows:
            await self._ctx.transaction(_delete_rows, [row[0] for row in rows])
            self._on_accept(len(rows))
        return len(rows)

    async def set_aside(self) -> int:
        """Envelopes the digest could not take (kept in `errors_inbox` with the reason)."""
        return await self._ctx.transaction(_set_aside_count, read_only=True)


def unpack(record: bytes) -> tuple[float, int, str | None, bytes]:
    """(received_at, project_id, Content-Encoding or None, body) of a spool record."""
    received_at, project_id, length = RECORD.unpack_from(record)
    start = RECORD.size + length
    encoding = record[RECORD.size : start].decode("ascii") or None
    return received_at, project_id, encoding, record[start:]


def _waiting_rows(session: Session) -> list[tuple[int, int, float, bytes, str | None]]:
    query = select(inbox.c.id, inbox.c.project_id, inbox.c.received_at, inbox.c.body)
    query = query.add_columns(inbox.c.encoding).where(inbox.c.error.is_(None))
    return [tuple(row) for row in session.execute(query.order_by(inbox.c.id))]  # type: ignore[misc]


def _delete_rows(session: Session, row_ids: list[int]) -> None:
    session.execute(delete(inbox).where(inbox.c.id.in_(row_ids)))


def _set_aside_count(session: Session) -> int:
    query = select(func.count()).select_from(inbox).where(inbox.c.error.is_not(None))
    return int(session.execute(query).scalar_one())
