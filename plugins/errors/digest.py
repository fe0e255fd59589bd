"""The digest: inbox envelopes become stored events, grouped into issues, off the request path.

It runs as the plugin's singleton job `digest` (woken once `digest_batch` envelopes wait,
or `digest_worker_min_batch` where a worker takes them; when the intake goes quiet; or
`digest_wait` seconds after one arrived: `pacing.py`) and
works in batches of up to `digest_batch` envelopes read from the inbox's spool, two
transactions each:

1. read the batch and prepare it (decode, symbolicate events of releases with uploaded
   files, normalise, hash), reading only;
2. write it: move the spool cursor past the batch, store the events, create or update
   their issues, counts, hourly buckets, users, releases and environments — all in one
   commit, so a crash anywhere leaves the cursor before the batch, to be digested again.
   The cursor moves only from where the batch was read (compare and set): a digest that
   finds it moved (another version's, during a reload) stores nothing and reads again.

While `digest_worker_min_batch` envelopes or more wait (a burst, or a backlog), the plugin's
worker process takes the batches instead: it reads the records from the spool itself, then
prepares and stores them in one transaction there (`digest_store.prepare_and_store`), so the
server's GIL is left to the intake and the server neither reads nor sends the bodies. A
batch with an envelope that cannot be read or digested is done here, where it can be set
aside as it was received, as is a torn spool record, reported here. The worker reads the
cursor in its transaction, which holds the write lock from the start, so no other digest
takes the same records.

While a full batch waits, the next batch is read and prepared (1.) while this one is written
(2.): the two overlap on worker threads. It is read from where this batch ends, a cursor not
yet committed; if this batch's write does not leave the cursor there, it is dropped unread.

Issue look-ups are cached between batches; any change made elsewhere (a state change, a
merge) bumps `errors_generation`, and the next batch starts with empty caches. An envelope
that cannot be digested is set aside in `errors_inbox` with the reason (`error`), not
retried.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from mindframe.sdk import Event, PluginContext
from mindframe.sdk.processes import ProcessPool, WorkerProcessError
from mindframe.sdk.spool import Batch, TornRecord

from . import digest_work, symbolication
from .digest_store import (
    CursorMoved,
    IssueStore,
    Prepared,
    Stored,
    Unprepared,
    WorkerBatch,
    prepare_and_store,
    prepare_in,
    read_cursor,
    ready,
    take,
    works_of,
)
from .digest_work import Done
from .inbox import Inbox
from .pacing import DigestPacing

log = logging.getLogger(__name__)


def workers_take_batches(pool: ProcessPool | None, min_batch: int) -> bool:
    """Whether the worker process reads, prepares and stores batches itself: there is one,
    it can open the database, and batches are given to it at all."""
    return pool is not None and pool.in_workers and min_batch > 0


class Digest:
    def __init__(
        self,
        ctx: PluginContext,
        inbox: Inbox,
        batch_size: int,
        max_attachment_bytes: int,
        symbolicate: Callable[..., dict[str, Any]] = symbolication.symbolicate,
        pacing: DigestPacing | None = None,
        pool: ProcessPool | None = None,
        worker_min_batch: int = 0,
    ) -> None:
        self._pacing = pacing
        self._pool = pool
        self._worker_min_batch = worker_min_batch
        self._workers_take_batches = workers_take_batches(pool, worker_min_batch)
        self._worker_cold = pool is not None
        self._ctx = ctx
        self._inbox = inbox
        self._cursor: int | None = None  # as committed; None: read it from the table
        self._batch_size = batch_size
        self._max_attachment = max_attachment_bytes
        self._symbolicate = symbolicate
        self._issues = IssueStore()  # the look-ups of batches stored here
        self._worker_may_be_stale = True  # a batch was stored here since the worker's last
        self.digested = 0  # events stored since start, for health
        self.last_batch_seconds: float | None = None
        self.prepared_ahead = 0  # batches prepared while the one before was written

    def expect_work(self) -> None:
        """Envelopes are arriving: start the worker process now, while the first batch
        fills, rather than when the batch is handed to it (then it would wait for a
        Python to start and import)."""
        if self._worker_cold:
            self._worker_cold = False
            assert self._pool is not None
            self._ctx.spawn(self._warm_worker, name="start the digest's worker process")

    async def _warm_worker(self) -> None:
        """Start the worker and have it import what its batches need (~0.3 s)."""
        assert self._pool is not None
        await self._pool.run(ready if self._pool.in_workers else digest_work.ready)

    async def run(self) -> None:
        """Digest while it is worth it (the job's one run): after a full batch, and then
        while the pacing says so (a full batch waits, or the intake is quiet)."""
        if self._pacing is None:
            await self._run_batches()
            return
        self._pacing.started()
        try:
            await self._run_batches()
        except BaseException:
            self._pacing.finished(failed=True)
            raise
        self._pacing.finished()

    async def _run_batches(self) -> None:
        ahead: asyncio.Task[Prepared] | None = None
        accepted_before = 0  # when the batch being read began to be read
        backlog = False  # the last batch was full: more may wait than the pacing counted
        try:
            while True:
                started = time.perf_counter()
                if ahead is None and self._for_the_worker(backlog):
                    taken = await self._worker_batch(started)
                    if taken == 0:
                        return  # caught up
                    if taken is not None:
                        backlog = taken >= self._batch_size
                        more = self._for_the_worker(backlog) or self._worth_another_batch(taken)
                        if not more:
                            return
                        continue
                if ahead is not None:
                    prepared, ahead = await ahead, None
                else:
                    accepted_before = self._accepted_so_far()
                    prepared = await self._prepared(None, self._cursor)
                if self._pacing is not None:
                    self._pacing.taken(len(prepared.records))
                if not prepared.records and prepared.next == prepared.start:
                    self._cursor = prepared.start
                    if self._pacing is not None:
                        self._pacing.caught_up(accepted_before)
                    return
                if self._full_batch_waits():
                    self.prepared_ahead += 1
                    accepted_before = self._accepted_so_far()
                    ahead = asyncio.ensure_future(self._prepared(None, prepared.next))
                stored = await self._write(prepared)
                if ahead is not None and self._cursor != prepared.next:
                    await ahead  # read from where the cursor is not: read again
                    ahead = None
                self.digested += stored.events
                self.last_batch_seconds = time.perf_counter() - started
                await self._announce(stored.announcements)
                backlog = len(prepared.records) >= self._batch_size
                if ahead is None and not self._worth_another_batch(len(prepared.records)):
                    return
        finally:
            if ahead is not None:  # a transaction runs to its end: wait for it
                await asyncio.shield(ahead)

    def _accepted_so_far(self) -> int:
        return self._pacing.accepted_total if self._pacing is not None else 0

    def _full_batch_waits(self) -> bool:
        """Whether to prepare the next batch while this one is written: only when a full
        one waits, so a burst's batches stay full (the cursor the next batch is read from
        is committed when it is written, compare and set as ever)."""
        return self._pacing is not None and self._pacing.pending >= self._batch_size

    def _for_the_worker(self, backlog: bool) -> bool:
        """Whether the worker process takes the next batch: enough waits (by the pacing's
        count, or because the last batch was full) and it can open the database."""
        if not self._workers_take_batches:
            return False
        pending = self._pacing.pending if self._pacing is not None else 0
        return backlog or pending >= self._worker_min_batch

    def _worth_another_batch(self, records: int) -> bool:
        """After a full batch (a backlog, perhaps from before a restart), or when the
        pacing says so (a full batch waits, or the intake is quiet)."""
        if records >= self._batch_size:
            return True
        return self._pacing is not None and self._pacing.worth_another_batch()

    async def _announce(self, announcements: list[Event]) -> None:
        """Publish a batch's announcements together: the bus's log commits them in one
        transaction (one after another, a batch creating five issues waited for five
        commits, 0.3-0.8 s on a loaded machine, before it took the next batch)."""
        if len(announcements) == 1:
            await self._ctx.publish(announcements[0])
        elif announcements:
            await asyncio.gather(*(self._ctx.publish(a) for a in announcements))

    async def waiting_bytes(self) -> int:
        """Bytes in the spool after the committed cursor (envelopes not yet digested)."""
        spool = self._inbox.spool
        if spool is None:
            return 0
        cursor = await self._ctx.transaction(read_cursor, read_only=True)
        return spool.waiting_bytes(cursor)

    async def _write(self, prepared: Prepared) -> Stored:
        """Store the batch; if that fails, store its envelopes one by one, so one that
        cannot be stored is set aside and the others go in."""
        try:
            stored = await self._ctx.transaction(self._store, prepared)
        except CursorMoved:
            self._cursor = None
            return Stored()
        except Exception as error:
            if len(prepared.records) <= 1:
                reason = f"{type(error).__name__}: {error}"[:2000]
                log.exception("errors: envelope at %d cannot be stored; set aside", prepared.start)
                failed = {record.position: reason for record in prepared.records}
                aside = dataclasses.replace(prepared, events=[], counts=Counter(), failed=failed)
                aside.attachments = []
                try:
                    stored = await self._ctx.transaction(self._store, aside)
                except CursorMoved:
                    self._cursor = None
                    return Stored()
                self._moved(prepared.next)
                return stored
            total = Stored()
            start = prepared.start
            for number, record in enumerate(prepared.records):
                last = number == len(prepared.records) - 1
                batch = Batch([record], prepared.next if last else record.next)
                single = await self._prepared(batch, start)
                part = await self._write(single)
                if self._cursor is None:  # moved by someone else: start again from there
                    return total
                total.announcements += part.announcements
                total.events += part.events
                start = batch.next
            return total
        self._issues.remember(stored)
        self._worker_may_be_stale = True
        self._moved(prepared.next)
        return stored

    def _store(self, session: Session, prepared: Prepared) -> Stored:
        return self._issues.store(session, prepared)

    async def _worker_batch(self, started: float) -> int | None:
        """Have the worker process digest the next batch: the records it took (0: none
        waited), or None when it did not take the batch (then it is done here)."""
        accepted_before = self._accepted_so_far()
        stored = await self._digest_in_worker()
        if stored is None:
            return None
        if self._pacing is not None:
            self._pacing.taken(stored.records)
            if not stored.records:
                self._pacing.caught_up(accepted_before)
        self.digested += stored.events
        self.last_batch_seconds = time.perf_counter() - started
        await self._announce(stored.announcements)
        return stored.records

    async def _digest_in_worker(self) -> Stored | None:
        """The next batch read, prepared and stored by the worker process; None when it did
        not (the batch is then done here)."""
        assert self._pool is not None and self._inbox.spool is not None
        batch = WorkerBatch(
            self._inbox.spool.reader(),
            self._batch_size,
            self._max_attachment,
            self._worker_may_be_stale,
        )
        try:
            stored = await self._pool.transaction(prepare_and_store, batch)
        except Exception as error:  # here, where a bad envelope can be set aside as received
            self._worker_may_be_stale = True
            if not isinstance(error, Unprepared | TornRecord):
                log.warning("errors: the digest's worker process failed (%r); storing here", error)
            return None
        self._worker_may_be_stale = False
        self._issues.forget()  # the worker may have changed what this process had cached
        self._moved(stored.next)
        return stored

    def _moved(self, cursor: int) -> None:
        """The cursor is committed at `cursor`: what lies before it can go."""
        self._cursor = cursor
        if self._inbox.spool is not None:
            self._inbox.spool.release(cursor)

    # --- 1. read and prepare (read-only; a large batch's CPU work in a worker process) ----

    async def _prepared(self, batch: Batch | None, start: int | None) -> Prepared:
        """`batch` read from `start`, or the next `digest_batch` envelopes after the committed
        cursor (`start`, or as the table says), prepared: here if small, else in the worker
        process (what it hands back, in a second read; only where a worker cannot store,
        as on PostgreSQL)."""
        prepared = await self._ctx.transaction(self._read, batch, start, read_only=True)
        if not prepared.works:
            return prepared  # prepared here
        assert self._pool is not None
        works, prepared.works = prepared.works, []
        try:
            done = await self._pool.run(digest_work.prepare, works, self._max_attachment)
        except WorkerProcessError as error:  # prepare them here; the next batch tries again
            log.warning("errors: the digest's worker process failed (%s); preparing here", error)
            done = await self._ctx.transaction(self._prepare_here, works, read_only=True)
        again = [work for work, one in zip(works, done, strict=True) if one.needs_sources]
        if again:
            redone = iter(await self._ctx.transaction(self._prepare_here, again, read_only=True))
            done = [next(redone) if one.needs_sources else one for one in done]
        take(prepared, done)
        return prepared

    def _read(self, session: Session, batch: Batch | None, start: int | None) -> Prepared:
        """The batch, prepared unless it goes to the worker process (then in `works`)."""
        if start is None:
            start = read_cursor(session)
        if batch is None:
            assert self._inbox.spool is not None, "the digest runs once the inbox is open"
            batch = self._inbox.spool.read(start, self._batch_size)
        prepared = Prepared(start, batch.next, batch.records)
        works, prepared.failed = works_of(session, batch.records)
        for position in prepared.failed:
            log.error("errors: record at %d cannot be read; set aside", position)
        pool = self._pool
        if pool is not None and not pool.in_workers and len(works) >= self._worker_min_batch:
            prepared.works = works
        else:
            take(prepared, self._prepare_here(session, works))
        return prepared

    def _prepare_here(self, session: Session, works: list[digest_work.Work]) -> list[Done]:
        return prepare_in(session, works, self._max_attachment, self._symbolicate)
