"""The digest's write: a prepared batch of events stored and grouped into issues in one
transaction, with the spool cursor moved past it (see `digest.py`).

Here, apart from the digest's scheduling, so a worker process can run it too: under a burst
a batch is read from the spool, prepared and stored in the plugin's worker process
(`prepare_and_store`, through `pool.transaction`), off the server's GIL; the server sends a
spool reader and gets back a summary. The issue look-ups cached between batches then live
in the worker; whichever side stores a batch after the other did starts with empty caches,
so neither acts on a state the other changed.
"""

from __future__ import annotations

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
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mindframe.sdk import Event, direct_sql
from mindframe.sdk.spool import Record, SpoolReader

from . import digest_work, symbolication
from .artifacts import lookup_in, releases_with_artifacts
from .digest_work import Done, Work
from .events import IssueCreated, IssueRegressed
from .generation import current_generation
from .inbox import SPOOL_NAME, unpack
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
from .releases import is_later

CACHE_LIMIT = 200_000


class CursorMoved(RuntimeError):
    """The spool cursor is not where this batch was read from: someone else digested it."""


@dataclass
class Prepared:
    """A batch read from the inbox's spool (from `start` to `next`) and made ready to store."""

    start: int
    next: int
    records: list[Record] = field(default_factory=list)
    events: list[Normalized] = field(default_factory=list)
    counts: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # by record position
    works: list[digest_work.Work] = field(default_factory=list)  # to prepare in a worker


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
    records: int = 0  # spool records the batch took (a worker's, which read them itself)
    next: int = 0  # where the cursor is now (likewise)


class IssueStore:
    """Stores prepared batches, keeping the issue look-ups of one process between them."""

    def __init__(self) -> None:
        self._generation = -1
        self._refs: dict[tuple[int, str], IssueRef] = {}
        self._by_id: dict[int, IssueRef] = {}
        self._facets: set[tuple[int, str, str]] = set()

    def forget(self) -> None:
        """Drop what is cached (another process may have stored since)."""
        self._generation = -1
        self._refs.clear()
        self._by_id.clear()
        self._facets.clear()

    def remember(self, stored: Stored) -> None:
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

    def store(self, session: Session, prepared: Prepared) -> Stored:
        """Write `prepared` in this transaction (see the module's docstring)."""
        # first, so the transaction holds the write lock from here on
        move_cursor(session, prepared.start, prepared.next)
        if prepared.failed:
            _set_aside(session, prepared)
        generation = current_generation(session)
        if generation != self._generation:  # changed elsewhere: what is cached may be stale
            self.forget()
            self._generation = generation
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


# --- statements and helpers --------------------------------------------------------------

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


def take(prepared: Prepared, done: list[Done]) -> None:
    """Add what each record became to the batch."""
    for one in done:
        if one.failed is not None:
            prepared.failed[one.position] = one.failed
            continue
        prepared.events.extend(one.events)
        prepared.counts.update(one.counts)
        prepared.attachments.extend(one.attachments)


def works_of(session: Session, records: list[Record]) -> tuple[list[Work], dict[int, str]]:
    """The spool records as work to prepare, and why each that cannot be read could not."""
    mapped: dict[int, frozenset[str]] = {}
    works: list[Work] = []
    failed: dict[int, str] = {}
    for record in records:
        try:
            received_at, project_id, encoding, body = unpack(record.data)
        except Exception as error:
            failed[record.position] = f"{type(error).__name__}: {error}"[:2000]
            continue
        releases = mapped.get(project_id)
        if releases is None:
            releases = mapped[project_id] = releases_with_artifacts(session, project_id)
        works.append(Work(record.position, project_id, received_at, encoding, body, releases))
    return works, failed


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


def read_cursor(session: Session) -> int:
    found = session.execute(
        select(spool_cursor.c.position).where(spool_cursor.c.name == SPOOL_NAME)
    ).scalar_one_or_none()
    return int(found or 0)


def move_cursor(session: Session, start: int, to: int) -> None:
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


# --- in the worker process --------------------------------------------------------------


class Unprepared(RuntimeError):
    """An envelope of the batch cannot be digested: the server prepares the batch itself,
    where it can set the envelope aside as it was received."""


@dataclass(frozen=True, slots=True)
class WorkerBatch:
    """What `prepare_and_store` needs: where to read the batch, and how much of it."""

    reader: SpoolReader
    limit: int  # records at most
    max_attachment: int
    forget: bool  # the server stored the batch before: the worker's caches may be stale


_STORE = IssueStore()
"""This worker process's caches (a worker lives as long as its plugin version)."""


def prepare_in(
    session: Session,
    works: list[Work],
    max_attachment: int,
    symbolicate: Callable[..., dict[str, Any]] = symbolication.symbolicate,
) -> list[Done]:
    """The records prepared where the database is at hand: events of a release with
    uploaded files are symbolicated with the project's files, looked up once a batch."""
    lookups: dict[int, symbolication.Lookup] = {}

    def mapped(event: dict[str, Any], project_id: int) -> dict[str, Any]:
        lookup = lookups.get(project_id)
        if lookup is None:
            lookup = lookups[project_id] = lookup_in(session, project_id)
        return symbolicate(event, project_id, lookup)

    return digest_work.prepare(works, max_attachment, mapped)


def ready() -> None:
    """Nothing: called once ahead of the first batch, so the worker has imported this module
    (and SQLAlchemy with it) before work waits for it. Not a transaction: an unload does not
    wait for a worker still starting."""


def prepare_and_store(connection: Connection, batch: WorkerBatch) -> Stored:
    """In a worker process (`pool.transaction`): read the next records after the cursor,
    prepare them, with uploaded source files at hand, and store them. The cursor is read in
    this transaction, which holds the write lock from its start, so no other digest can
    take the same records. Returns what the server needs (records taken, the cursor, events
    stored, what to announce), not the caches' changes, which stay here. Raises Unprepared,
    or TornRecord, for a batch the server must digest itself."""
    if batch.forget:
        _STORE.forget()
    session = Session(bind=connection)
    start = read_cursor(session)
    read = batch.reader.read(start, batch.limit)
    if not read.records and read.next == start:
        return Stored(next=start)
    works, unreadable = works_of(session, read.records)
    done = prepare_in(session, works, batch.max_attachment)
    if unreadable or any(one.failed is not None for one in done):
        raise Unprepared("an envelope of the batch cannot be digested")
    prepared = Prepared(start, read.next, read.records)
    take(prepared, done)
    try:
        stored = _STORE.store(session, prepared)
    except BaseException:
        _STORE.forget()  # its look-ups may name rows this rollback removes
        raise
    _STORE.remember(stored)  # committed right after this returns, or the server says forget
    return Stored(
        announcements=stored.announcements,
        events=stored.events,
        records=len(read.records),
        next=read.next,
    )
