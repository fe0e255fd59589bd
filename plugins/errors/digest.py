"""The digest: inbox envelopes become stored events, grouped into issues, off the request path.

It runs as the plugin's singleton job `digest` (woken once `digest_batch` envelopes wait,
when the intake goes quiet, or `digest_wait` seconds after one arrived: `pacing.py`) and
works in batches of up to `digest_batch` envelopes read from the inbox's spool, two
transactions each:

1. read the batch and prepare it (decode, symbolicate events of releases with uploaded
   files, normalise, hash), reading only;
2. write it: move the spool cursor past the batch, store the events, create or update
   their issues, counts, hourly buckets, users, releases and environments — all in one
   commit, so a crash anywhere leaves the cursor before the batch, to be digested again.
   The cursor moves only from where the batch was read (compare and set): a digest that
   finds it moved (another version's, during a reload) stores nothing and reads again.

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
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    case,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from mindframe.sdk import Event, PluginContext, direct_sql
from mindframe.sdk.processes import ProcessPool, WorkerProcessError
from mindframe.sdk.spool import Batch, Record

from . import digest_work, symbolication
from .artifacts import lookup_in, releases_with_artifacts
from .digest_work import Done
from .events import IssueCreated, IssueRegressed
from .generation import current_generation
from .inbox import SPOOL_NAME, Inbox, unpack
from .models import (
    attachments,
    events,
    fingerprints,
    inbox,
    issue_facets,
    issue_hours,
    issue_users,
    issues,
    item_counts,
    spool_cursor,
)
from .normalize import Normalized
from .pacing import DigestPacing
from .releases import is_later

log = logging.getLogger(__name__)
CACHE_LIMIT = 200_000


class CursorMoved(RuntimeError):
    """The spool cursor is not where this batch was read from: someone else digested it."""


@dataclass
class Prepared:
    """A batch read from the inbox's spool (from `start` to `next`) and made ready to store."""

    generation: int
    start: int
    next: int
    records: list[Record] = field(default_factory=list)
    events: list[Normalized] = field(default_factory=list)
    counts: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # by record position
    works: list[digest_work.Work] = field(default_factory=list)  # for the worker process


@dataclass(slots=True)
class IssueRef:
    id: int
    state: str
    resolved_in: str | None


@dataclass
class Stored:
    """What one write changed, for the caches (after the commit) and the bus."""

    new_refs: dict[tuple[int, str], IssueRef] = field(default_factory=dict)
    changed_states: dict[int, str] = field(default_factory=dict)
    new_facets: set[tuple[int, str, str]] = field(default_factory=set)
    announcements: list[Event] = field(default_factory=list)
    events: int = 0


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
        self._worker_cold = pool is not None
        self._ctx = ctx
        self._inbox = inbox
        self._cursor: int | None = None  # as committed; None: read it from the table
        self._batch_size = batch_size
        self._max_attachment = max_attachment_bytes
        self._symbolicate = symbolicate
        self._generation = -1
        self._refs: dict[tuple[int, str], IssueRef] = {}
        self._by_id: dict[int, IssueRef] = {}
        self._facets: set[tuple[int, str, str]] = set()
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
            self._ctx.spawn(self._pool.warm, name="start the digest's worker process")

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
        try:
            while True:
                started = time.perf_counter()
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
                if ahead is None and not self._worth_another_batch(prepared):
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

    def _worth_another_batch(self, prepared: Prepared) -> bool:
        """After a full batch (a backlog, perhaps from before a restart), or when the
        pacing says so (a full batch waits, or the intake is quiet)."""
        if len(prepared.records) >= self._batch_size:
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
        cursor = await self._ctx.transaction(_read_cursor, read_only=True)
        return spool.waiting_bytes(cursor)

    async def _write(self, prepared: Prepared) -> Stored:
        """Store the batch; if that fails, store its envelopes one by one, so one that cannot
        be stored is set aside and the others go in."""
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
        self._remember(stored)
        self._moved(prepared.next)
        return stored

    def _moved(self, cursor: int) -> None:
        """The cursor is committed at `cursor`: what lies before it can go."""
        self._cursor = cursor
        if self._inbox.spool is not None:
            self._inbox.spool.release(cursor)

    def _remember(self, stored: Stored) -> None:
        """Take what a committed write learnt into the caches."""
        if len(self._refs) > CACHE_LIMIT:
            self._refs.clear()
            self._by_id.clear()
        if len(self._facets) > CACHE_LIMIT:
            self._facets.clear()
        for key, ref in stored.new_refs.items():
            self._refs[key] = self._by_id[ref.id] = ref
        for issue_id, state in stored.changed_states.items():
            ref = self._by_id.get(issue_id)
            if ref is not None:
                self._by_id[issue_id] = ref = IssueRef(ref.id, state, None)
                for key, cached in list(self._refs.items()):
                    if cached.id == issue_id:
                        self._refs[key] = ref
        self._facets |= stored.new_facets

    # --- 1. read and prepare (read-only; a large batch's CPU work in a worker process) ----

    async def _prepared(self, batch: Batch | None, start: int | None) -> Prepared:
        """`batch` read from `start`, or the next `digest_batch` envelopes after the committed
        cursor (`start`, or as the table says), prepared: here if small, else in the worker
        process (what it hands back, in a second read)."""
        prepared = await self._ctx.transaction(self._read, batch, start, read_only=True)
        works, prepared.works = prepared.works, []
        if not works:
            return prepared
        assert self._pool is not None
        try:
            done = await self._pool.run(digest_work.prepare, works, self._max_attachment)
        except WorkerProcessError as error:  # prepare them here; the next batch tries again
            log.warning("errors: the digest's worker process failed (%s); preparing here", error)
            done = await self._ctx.transaction(self._prepare_here, works, read_only=True)
        again = [work for work, one in zip(works, done, strict=True) if one.needs_sources]
        if again:
            redone = iter(await self._ctx.transaction(self._prepare_here, again, read_only=True))
            done = [next(redone) if one.needs_sources else one for one in done]
        _take(prepared, done)
        return prepared

    def _read(self, session: Session, batch: Batch | None, start: int | None) -> Prepared:
        """The batch, prepared unless it goes to the worker process (then in `works`)."""
        if start is None:
            start = _read_cursor(session)
        if batch is None:
            assert self._inbox.spool is not None, "the digest runs once the inbox is open"
            batch = self._inbox.spool.read(start, self._batch_size)
        prepared = Prepared(current_generation(session), start, batch.next, batch.records)
        mapped: dict[int, frozenset[str]] = {}
        fresh = self._inbox.fresh
        works = []
        for record in batch.records:
            try:
                received_at, project_id, encoding, body = unpack(record.data)
            except Exception as error:
                log.exception("errors: record at %d cannot be read; set aside", record.position)
                prepared.failed[record.position] = f"{type(error).__name__}: {error}"[:2000]
                continue
            unpacked = fresh.pop(record.position, None)
            if unpacked is not None:
                body, encoding = unpacked, None
            releases = mapped.get(project_id)
            if releases is None:
                releases = mapped[project_id] = releases_with_artifacts(session, project_id)
            works.append(
                digest_work.Work(record.position, project_id, received_at, encoding, body, releases)
            )
        if self._pool is not None and len(works) >= self._worker_min_batch:
            prepared.works = works
        else:
            _take(prepared, self._prepare_here(session, works))
        return prepared

    def _prepare_here(self, session: Session, works: list[digest_work.Work]) -> list[Done]:
        lookups: dict[int, symbolication.Lookup] = {}

        def symbolicate(event: dict[str, Any], project_id: int) -> dict[str, Any]:
            lookup = lookups.get(project_id)
            if lookup is None:
                lookup = lookups[project_id] = lookup_in(session, project_id)
            return self._symbolicate(event, project_id, lookup)

        return digest_work.prepare(works, self._max_attachment, symbolicate)

    # --- 2. write (worker thread, one transaction) --------------------------------------

    def _store(self, session: Session, prepared: Prepared) -> Stored:
        # first, so the transaction holds the write lock from here on
        _move_cursor(session, prepared.start, prepared.next)
        if prepared.failed:
            _set_aside(session, prepared)
        if current_generation(session) != self._generation:
            self._refs.clear()
            self._facets.clear()
            self._generation = current_generation(session)
        stored = Stored()
        fresh = _without_duplicates(session, prepared.events)
        refs = self._issue_refs(session, fresh, stored)
        by_issue: dict[int, list[Normalized]] = defaultdict(list)
        for event in fresh:
            by_issue[refs[(event.project_id, event.fingerprint)].id].append(event)
        if fresh:
            # straight to SQLite's cursor: SQLAlchemy's executemany cost more per row than
            # the insert itself (14-44 of a batch's 25-55 µs an event)
            direct_sql.insert_rows(
                session.connection(), events, [_event_row(e, refs) for e in fresh]
            )
            session.execute(
                _UPDATE_ISSUE, [_issue_change(i, group) for i, group in by_issue.items()]
            )
            self._regressions(session, refs, by_issue, stored)
            _count_hours(session, by_issue)
            _count_users(session, by_issue)
            self._add_facets(session, by_issue, stored)
        if prepared.counts:
            _count_items(session, prepared.counts)
        if prepared.attachments:
            session.execute(insert(attachments), prepared.attachments)
        stored.events = len(fresh)
        created = [ref.id for ref in stored.new_refs.values() if ref.id in by_issue]
        stored.announcements[:0] = _announce(session, IssueCreated, created)
        return stored

    def _issue_refs(
        self, session: Session, fresh: list[Normalized], stored: Stored
    ) -> dict[tuple[int, str], IssueRef]:
        """The issue of every (project, hash) in the batch: cached, found, or created."""
        wanted = {(e.project_id, e.fingerprint) for e in fresh}
        refs = {key: self._refs[key] for key in wanted if key in self._refs}
        missing = wanted - refs.keys()
        if missing:
            rows = session.execute(
                select(
                    fingerprints.c.project_id,
                    fingerprints.c.hash,
                    issues.c.id,
                    issues.c.state,
                    issues.c.resolved_in,
                )
                .join(issues, issues.c.id == fingerprints.c.issue_id)
                .where(tuple_(fingerprints.c.project_id, fingerprints.c.hash).in_(list(missing)))
            )
            for project_id, group, issue_id, state, resolved_in in rows:
                ref = IssueRef(issue_id, state, resolved_in)
                refs[(project_id, group)] = stored.new_refs[(project_id, group)] = ref
            firsts = {}
            for event in fresh:
                key = (event.project_id, event.fingerprint)
                if key not in refs and key not in firsts:
                    firsts[key] = event
            for key, event in firsts.items():
                issue_id = _create_issue(session, event)
                refs[key] = stored.new_refs[key] = IssueRef(issue_id, "unresolved", None)
        return refs

    def _regressions(
        self,
        session: Session,
        refs: dict[tuple[int, str], IssueRef],
        by_issue: dict[int, list[Normalized]],
        stored: Stored,
    ) -> None:
        """Resolved issues with an event of a later release are unresolved again."""
        resolved = {ref.id: ref for ref in refs.values() if ref.state == "resolved"}
        regressed: dict[int, str | None] = {}
        for issue_id, ref in resolved.items():
            for event in by_issue.get(issue_id, ()):
                if is_later(event.release, ref.resolved_in):
                    regressed[issue_id] = event.release
                    break
        if not regressed:
            return
        session.execute(
            update(issues)
            .where(issues.c.id.in_(list(regressed)))
            .values(state="unresolved", regressed=True, resolved_in=None, resolved_at=None)
        )
        for issue_id in regressed:
            stored.changed_states[issue_id] = "unresolved"
        stored.announcements += _announce(session, IssueRegressed, list(regressed), regressed)

    def _add_facets(
        self, session: Session, by_issue: dict[int, list[Normalized]], stored: Stored
    ) -> None:
        seen: set[tuple[int, str, str]] = set()
        for issue_id, group in by_issue.items():
            for event in group:
                if event.release:
                    seen.add((issue_id, "release", event.release))
                if event.environment:
                    seen.add((issue_id, "environment", event.environment))
        new = seen - self._facets
        if new:
            rows = [{"issue_id": i, "kind": k, "value": v} for i, k, v in new]
            session.execute(_insert_ignoring(session, issue_facets), rows)
            stored.new_facets = new


# --- statements and helpers (worker thread) ----------------------------------------------

_UPDATE_ISSUE = (
    update(issues)
    .where(issues.c.id == bindparam("b_id"))
    .values(
        count=issues.c.count + bindparam("b_count"),
        last_seen=case(
            (issues.c.last_seen < bindparam("b_last"), bindparam("b_last")),
            else_=issues.c.last_seen,
        ),
        first_seen=case(
            (issues.c.first_seen > bindparam("b_first"), bindparam("b_first")),
            else_=issues.c.first_seen,
        ),
        level=bindparam("b_level"),
        last_release=func.coalesce(bindparam("b_release"), issues.c.last_release),
    )
)


def _issue_change(issue_id: int, group: list[Normalized]) -> dict[str, Any]:
    latest = max(group, key=lambda e: e.timestamp)
    return {
        "b_id": issue_id,
        "b_count": len(group),
        "b_last": latest.timestamp,
        "b_first": min(e.timestamp for e in group),
        "b_level": latest.level,
        "b_release": latest.release,
    }


def _create_issue(session: Session, event: Normalized) -> int:
    issue_id = session.execute(
        insert(issues).values(
            project_id=event.project_id,
            fingerprint=event.fingerprint,
            title=event.title,
            culprit=event.culprit,
            exception_type=event.exception_type,
            level=event.level,
            state="unresolved",
            regressed=False,
            first_seen=event.timestamp,
            last_seen=event.timestamp,
            count=0,
            users=0,
            first_release=event.release,
            last_release=event.release,
        )
    ).inserted_primary_key[0]
    session.execute(
        insert(fingerprints).values(
            project_id=event.project_id, hash=event.fingerprint, issue_id=issue_id
        )
    )
    return issue_id


def _without_duplicates(session: Session, batch: list[Normalized]) -> list[Normalized]:
    """The batch less events already stored (an SDK's retry) or repeated within it."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for event in batch:
        wanted[event.project_id].add(event.event_id)
    stored = {
        (project_id, event_id)
        for project_id, ids in wanted.items()
        for event_id in session.scalars(_STORED_IDS, {"project_id": project_id, "ids": list(ids)})
    }
    fresh = []
    for event in batch:
        key = (event.project_id, event.event_id)
        if key not in stored:
            stored.add(key)
            fresh.append(event)
    return fresh


_STORED_IDS = select(events.c.event_id).where(
    events.c.project_id == bindparam("project_id"),
    events.c.event_id.in_(bindparam("ids", expanding=True)),
)
"""A project's event ids among `ids` (one bound list: a tuple `IN` is rendered as literals,
which cost more than the look-up)."""


def _event_row(event: Normalized, refs: dict[tuple[int, str], IssueRef]) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "project_id": event.project_id,
        "issue_id": refs[(event.project_id, event.fingerprint)].id,
        "timestamp": event.timestamp,
        "received_at": event.received_at,
        "level": event.level,
        "release": event.release,
        "environment": event.environment,
        "user_id": event.user_id,
        "user_email": event.user_email,
        "user_name": event.user_name,
        "user_key": event.user_key,
        "title": event.title,
        "data": event.data,
    }


def _insert_ignoring(session: Session, table: Any) -> Any:
    """INSERT that skips rows whose key exists (SQLite and PostgreSQL alike)."""
    return _dialect_insert(session, table).on_conflict_do_nothing()


def _dialect_insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def _adding(session: Session, table: Any, keys: list[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET count = count + the new count."""
    statement = _dialect_insert(session, table)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={"count": table.c.count + statement.excluded.count}
    )


def _count_hours(session: Session, by_issue: dict[int, list[Normalized]]) -> None:
    counts: Counter[tuple[int, int, int]] = Counter()
    for issue_id, group in by_issue.items():
        for event in group:
            counts[(issue_id, int(event.received_at // 3600), event.project_id)] += 1
    rows = [
        {"issue_id": i, "hour": h, "project_id": p, "count": n} for (i, h, p), n in counts.items()
    ]
    session.execute(_adding(session, issue_hours, ["issue_id", "hour"]), rows)


def _count_users(session: Session, by_issue: dict[int, list[Normalized]]) -> None:
    rows = {
        (issue_id, event.user_key)
        for issue_id, group in by_issue.items()
        for event in group
        if event.user_key
    }
    if not rows:
        return
    session.execute(
        _insert_ignoring(session, issue_users),
        [{"issue_id": i, "user_key": k} for i, k in rows],
    )
    recount_users(session, list({issue_id for issue_id, _ in rows}))


def recount_users(session: Session, issue_ids: list[int]) -> None:
    """Set each issue's `users` from `errors_issue_users`."""
    counted = (
        select(func.count())
        .select_from(issue_users)
        .where(issue_users.c.issue_id == issues.c.id)
        .scalar_subquery()
    )
    session.execute(update(issues).where(issues.c.id.in_(issue_ids)).values(users=counted))


def _count_items(session: Session, counts: Counter[tuple[int, int, str]]) -> None:
    rows = [
        {"project_id": p, "hour": h, "item_type": t, "count": n} for (p, h, t), n in counts.items()
    ]
    session.execute(_adding(session, item_counts, ["project_id", "hour", "item_type"]), rows)


def _take(prepared: Prepared, done: list[Done]) -> None:
    """Add what each record became to the batch."""
    for one in done:
        if one.failed is not None:
            prepared.failed[one.position] = one.failed
            continue
        prepared.events.extend(one.events)
        prepared.counts.update(one.counts)
        prepared.attachments.extend(one.attachments)


def _set_aside(session: Session, prepared: Prepared) -> None:
    """The envelopes that failed, kept in `errors_inbox` as sent, with the reason."""
    rows = []
    for record in prepared.records:
        reason = prepared.failed.get(record.position)
        if reason is not None:
            received_at, project_id, encoding, body = unpack(record.data)
            rows.append(
                {
                    "project_id": project_id,
                    "received_at": received_at,
                    "body": body,
                    "encoding": encoding,
                    "error": reason,
                }
            )
    if rows:
        session.execute(insert(inbox), rows)


def _read_cursor(session: Session) -> int:
    found = session.execute(
        select(spool_cursor.c.position).where(spool_cursor.c.name == SPOOL_NAME)
    ).scalar_one_or_none()
    return int(found or 0)


def _move_cursor(session: Session, start: int, to: int) -> None:
    """Move the cursor from `start` to `to`, or raise CursorMoved if it is not at `start`."""
    if start == 0:
        moved = session.execute(
            _insert_ignoring(session, spool_cursor), {"name": SPOOL_NAME, "position": to}
        ).rowcount
        if moved == 1:
            return
    moved = session.execute(
        update(spool_cursor)
        .where(spool_cursor.c.name == SPOOL_NAME, spool_cursor.c.position == start)
        .values(position=to)
    ).rowcount
    if moved != 1:
        raise CursorMoved(f"the inbox cursor is not at {start}")


def _announce(
    session: Session,
    kind: type[IssueCreated] | type[IssueRegressed],
    issue_ids: list[int],
    releases: dict[int, str | None] | None = None,
) -> list[Event]:
    if not issue_ids:
        return []
    rows = session.execute(select(issues).where(issues.c.id.in_(issue_ids))).mappings()
    announcements: list[Event] = []
    for row in rows:
        fields = {
            "issue_id": row["id"],
            "project_id": row["project_id"],
            "title": row["title"],
            "level": row["level"],
            "culprit": row["culprit"],
            "first_seen": datetime.fromtimestamp(row["first_seen"], UTC),
            "last_seen": datetime.fromtimestamp(row["last_seen"], UTC),
            "count": row["count"],
        }
        if releases is not None:
            fields["release"] = releases.get(row["id"])
        announcements.append(kind(**fields))
    return announcements
