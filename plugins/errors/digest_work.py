"""The digest's CPU work on a batch: envelopes in, normalised events out.

Pure (no database, no plugin context), so a large batch is prepared in a worker process
(`ctx.process_pool`) while the server answers the SDKs; decoding, normalising and
fingerprinting were ~40 % of the server's CPU under a burst, and in one process they took
turns with the intake for the GIL. Beside the database (the server's digest, or the worker's
`digest_store.prepare_and_store`) uploaded source files are at hand for an event of a
release that has any; without it (a worker that cannot open the database) such an
envelope comes back `needs_sources`, to be prepared in the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from . import envelope
from .bodies import decode_body
from .normalize import Normalized, normalize

log = logging.getLogger(__name__)
_decode_event = msgspec.json.Decoder(dict[str, Any]).decode
UNPACK_LIMIT = 1 << 30  # the intake checked the real limit; this only guards the digest
COUNTED_TYPES = frozenset({"transaction", "session", "sessions", "client_report", "attachment"})
Symbolicate = Callable[[dict[str, Any], int], dict[str, Any]]
"""(event, project id) -> the event with its frames mapped through uploaded source maps."""


@dataclass(frozen=True, slots=True)
class Work:
    """One spool record to prepare."""

    position: int
    project_id: int
    received_at: float
    encoding: str | None  # None: `body` is as the SDK's JSON, already decompressed
    body: bytes
    mapped_releases: frozenset[str]  # the project's releases with uploaded files


@dataclass(slots=True)
class Done:
    """What one record became."""

    position: int
    events: list[Normalized] = field(default_factory=list)
    counts: list[tuple[int, int, str]] = field(default_factory=list)  # (project, hour, type)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None  # why it cannot be digested: it is set aside
    needs_sources: bool = False  # prepare it again where uploaded files can be read


def ready() -> None:
    """Nothing: called ahead of the first batch, so the worker has imported this module."""


def prepare(
    works: list[Work], max_attachment: int, symbolicate: Symbolicate | None = None
) -> list[Done]:
    """Each record prepared, in order. Without `symbolicate` (in a worker process), a record
    with an event of a release that has uploaded files comes back `needs_sources`."""
    return [_prepare_one(work, max_attachment, symbolicate) for work in works]


def _prepare_one(work: Work, max_attachment: int, symbolicate: Symbolicate | None) -> Done:
    done = Done(work.position)
    try:
        body = work.body
        if work.encoding:
            body = decode_body(body, work.encoding, UNPACK_LIMIT)
        parsed = envelope.parse(body, check_payloads=False)
        hour = int(work.received_at // 3600)
        for item in parsed.items:
            if item.type == "event":
                event = _decode_event(item.payload)
                mapped = event
                release = event.get("release")
                if isinstance(release, str) and release in work.mapped_releases:
                    if symbolicate is None:
                        return Done(work.position, needs_sources=True)
                    mapped = symbolicate(event, work.project_id)
                sent = item.payload if mapped is event else None
                done.events.append(normalize(mapped, work.project_id, work.received_at, sent))
            elif item.type in COUNTED_TYPES:
                done.counts.append((work.project_id, hour, item.type))
                if item.type == "attachment" and len(item.payload) <= max_attachment:
                    done.attachments.append(
                        {
                            "project_id": work.project_id,
                            "event_id": parsed.event_id or "",
                            "filename": str(item.headers.get("filename") or "attachment")[:400],
                            "content_type": item.headers.get("content_type"),
                            "content": item.payload,
                            "received_at": work.received_at,
                        }
                    )
    except Exception as error:
        log.exception("errors: envelope at %d cannot be digested; set aside", work.position)
        return Done(work.position, failed=f"{type(error).__name__}: {error}"[:2000])
    return done
