"""The webhook inbox: a verified webhook is committed, raw, under its event id before the
provider hears 200, and applied in that same transaction.

Storing and applying share one transaction, so a crash leaves either both or neither (the
provider then redelivers, and the delivery is new to us). The event id is the row's unique
key, so a redelivery of a committed event is answered 200 and changes nothing. If applying
raises (a bug, a shape we did not expect), that transaction is rolled back and the raw
webhook is stored in a second one with the error, still answered 200, and the `apply` job
retries it. (One transaction on the happy path, no savepoint, on a Core connection rather
than an ORM session: that is the hot path.)
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from mindframe.sdk import Event, PluginContext, ServiceError

from . import ledger, stripe_events, vipps_events, vipps_recurring_events
from .jobs import BillingJobs
from .models import webhooks
from .settings import BillingSettings

Outcome = Literal["applied", "duplicate", "stored"]
Provider = Literal["stripe", "vipps"]


class MalformedWebhook(ValueError):
    """A signed body that is not an event we can read; answered with 400."""


def parse_stripe(body: bytes) -> tuple[str, str, dict[str, Any]]:
    event = _json(body)
    try:
        event["data"]["object"]
        return str(event["id"]), str(event["type"]), event
    except (KeyError, TypeError):
        raise MalformedWebhook("a Stripe event needs id, type and data.object") from None


def parse_vipps(body: bytes) -> tuple[str, str, dict[str, Any]]:
    event = _json(body)
    if vipps_recurring_events.is_recurring(event):
        try:
            return vipps_recurring_events.event_id(event), str(event["eventType"]), event
        except (KeyError, TypeError, ValueError):
            raise MalformedWebhook(
                "a Recurring API event needs eventType, agreementId (and a charge's chargeId "
                "and amount)"
            ) from None
    try:
        int(event["amount"]["value"])
        return vipps_events.event_id(event), str(event["name"]), event
    except (KeyError, TypeError, ValueError):
        raise MalformedWebhook(
            "a Vipps event needs reference, pspReference, name and amount.value"
        ) from None


def _json(body: bytes) -> dict[str, Any]:
    """The body as plain JSON values; msgspec rather than `json` on the hot path (a quarter
    of the CPU), refusing the same bodies (not UTF-8, not JSON, trailing bytes) but for
    numbers past a double (`1e400`), which `json` reads as infinity."""
    try:
        event = msgspec.json.decode(body)
    except ValueError:
        raise MalformedWebhook("the body is not JSON") from None
    if not isinstance(event, dict):
        raise MalformedWebhook("the body is not a JSON object")
    return event


def _apply(
    provider: Provider, session: Session, event: dict[str, Any], settings: BillingSettings
) -> list[Event]:
    if provider == "stripe":
        return stripe_events.apply(session, event, settings)
    if vipps_recurring_events.is_recurring(event):
        return vipps_recurring_events.apply(session, event)
    return vipps_events.apply(session, event)


def _row(provider: str, event_id: str, event_type: str, body: bytes) -> dict[str, Any]:
    return {
        "provider": provider,
        "event_id": event_id,
        "event_type": event_type,
        "payload": body.decode(),
        "received_at": ledger.now(),
        "applied_at": None,
        "error": None,
    }


def _store_and_apply(
    connection: Connection,
    provider: Provider,
    event_id: str,
    event_type: str,
    body: bytes,
    event: dict[str, Any],
    settings: BillingSettings,
) -> tuple[Outcome, list[Event]]:
    """Store the webhook as applied and apply it, all or nothing (raises when applying
    fails: the caller then stores it unapplied, in a transaction of its own). On a Core
    connection (`ctx.transaction(..., core=True)`): no ORM `Session` to set up and commit
    on the hot path, and less CPU per statement."""
    row = {**_row(provider, event_id, event_type, body), "applied_at": ledger.now()}
    if not ledger.insert_once(connection, webhooks, row):
        return "duplicate", []
    return "applied", _apply(provider, connection, event, settings)


def _store_unapplied(
    connection: Connection,
    provider: Provider,
    event_id: str,
    event_type: str,
    body: bytes,
    error: str,
) -> Outcome:
    row = {**_row(provider, event_id, event_type, body), "error": error}
    return "stored" if ledger.insert_once(connection, webhooks, row) else "duplicate"


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


class Inbox:
    """Accepts verified webhooks and applies them; see the module's docstring."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.last_error: str | None = None

    @property
    def settings(self) -> BillingSettings:
        return self._ctx.settings

    async def accept(
        self, provider: Provider, body: bytes, parse: Callable[[bytes], tuple[str, str, Any]]
    ) -> Outcome:
        """Commit and apply one verified webhook; publishes what it changed after commit."""
        event_id, event_type, event = parse(body)
        try:
            outcome, found = await self._ctx.transaction(
                _store_and_apply,
                provider,
                event_id,
                event_type,
                body,
                event,
                self.settings,
                core=True,
            )
        except DatabaseError:
            raise  # the database itself failed: no 2xx, so the provider sends it again
        except Exception as error:  # applying failed: keep it, answer 2xx, retry in the job
            outcome, found = "stored", []
            await self._ctx.transaction(
                _store_unapplied, provider, event_id, event_type, body, _describe(error), core=True
            )
            self.last_error = f"{provider} event {event_id} could not be applied yet"
            self._ctx.log.warning("billing: %s (%s)", self.last_error, _describe(error))
        await self.publish(found, event_type)
        return outcome

    async def publish(self, found: list[Event], event_type: str) -> None:
        """Publish what an applied webhook changed; an activated Vipps agreement also wakes
        the `renewals` job, which charges its first period (keyed as any renewal), and an
        invoice numbered from a Stripe event wakes the `mail` job, which mails it."""
        for event in found:
            await self._ctx.publish(event)
        if vipps_recurring_events.made_a_period_due(event_type, found):
            self._wake("renewals")
        if event_type.startswith("invoice.") and stripe_events.issued_an_invoice(found):
            self._wake("mail")

    def _wake(self, job: str) -> None:
        with contextlib.suppress(ServiceError):  # not started yet: it runs when it starts
            self._ctx.resolve(BillingJobs).wake(job)

    async def apply_pending(self) -> int:
        """Retry stored webhooks that were not applied (the `apply` job); how many now are."""
        pending = await self._ctx.transaction(_pending, read_only=True)
        applied = 0
        for provider, event_id, payload in pending:
            event = json.loads(payload)
            try:
                outcome, found = await self._ctx.transaction(
                    _retry, provider, event_id, event, self.settings
                )
            except Exception as error:
                await self._ctx.transaction(_record_error, provider, event_id, _describe(error))
                continue
            if outcome == "applied":
                applied += 1
                await self.publish(found, str(event.get("eventType") or event.get("type")))
        if applied and not await self.depth():
            self.last_error = None
        return applied

    async def depth(self) -> int:
        return await self._ctx.transaction(_count_pending, read_only=True)


def _pending(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(webhooks.c.provider, webhooks.c.event_id, webhooks.c.payload)
        .where(webhooks.c.applied_at.is_(None))
        .order_by(webhooks.c.id)
        .limit(100)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _unapplied(provider: str, event_id: str) -> Any:
    return (
        (webhooks.c.provider == provider)
        & (webhooks.c.event_id == event_id)
        & webhooks.c.applied_at.is_(None)
    )


def _retry(
    session: Session, provider: Provider, event_id: str, event: dict[str, Any], settings: Any
) -> tuple[Outcome, list[Event]]:
    # mark it applied first: that takes the write lock (on SQLite a transaction that reads
    # before it writes may be refused the write when another commits in between), and a
    # concurrent retry then finds nothing to do
    claimed = session.execute(
        update(webhooks)
        .where(_unapplied(provider, event_id))
        .values(applied_at=ledger.now(), error=None)
    ).rowcount
    if not claimed:
        return "duplicate", []
    return "applied", _apply(provider, session, event, settings)


def _record_error(session: Session, provider: str, event_id: str, error: str) -> None:
    session.execute(update(webhooks).where(_unapplied(provider, event_id)).values(error=error))


def _count_pending(session: Session) -> int:
    query = select(func.count()).select_from(webhooks).where(webhooks.c.applied_at.is_(None))
    return int(session.execute(query).scalar_one())
