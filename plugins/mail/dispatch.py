"""The sender: claims due messages from the outbox and sends them, batch by batch.

A batch is split into lanes by recipient domain (at most `per_domain_concurrency` lanes
per domain); each lane sends its messages one after another over one SMTP connection,
and at most `max_connections` lanes run at once. A lane commits each outcome while it
sends the next message, so at most two answered messages per connection are waiting for
their commit: that is the whole at-least-once window. Lanes share commits (`Recorder`):
outcomes handed in while one commit runs are recorded together in the next. Connections
outlive a batch by a couple of idle seconds, together with the commit of their last
outcome, so a stream of small batches shares them and the next batch is claimed while
the last outcomes of the previous one are still being committed."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import count

import anyio

from .composing import build, domain_of
from .events import MailFailed, MailSent
from .outbox import FAILED, GAVE_UP, QUEUED, SENT, Claimed, Outbox, Settled, now
from .settings import MailSettings
from .smtp import Connection, Outcome

log = logging.getLogger("mindframe.plugins.mail")
Publish = Callable[..., Awaitable[object]]
KEEP_IDLE = 2.0  # seconds an SMTP connection stays open without a message to send


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential, with jitter so retries of one outage do not arrive together."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + random.random() * delay / 2


def lanes(batch: list[Claimed], per_domain: int) -> list[list[Claimed]]:
    """Group by the recipients' domains, round-robin into up to `per_domain` lanes each;
    the batch's priority order is kept inside every lane."""
    groups: dict[tuple[str, ...], list[list[Claimed]]] = defaultdict(list)
    turns: dict[tuple[str, ...], count[int]] = defaultdict(count)
    for message in batch:
        key = tuple(sorted({domain_of(r) for r in message.recipients}))
        group = groups[key]
        turn = next(turns[key]) % per_domain
        if turn == len(group):
            group.append([])
        group[turn].append(message)
    return [lane for group in groups.values() for lane in group]


async def attempt(connection: Connection, message: Claimed, outbox: Outbox) -> Outcome:
    """One SMTP transaction for `message`, its attachments read from `outbox` first. A row
    that cannot be built into a message (one written by hand, or by an older version that
    checked less, or whose attachments are gone) is a failed attempt like a 4xx: it ends
    `failed` at `max_attempts` with the reason, instead of stopping its lane and staying
    `sending` to be claimed again and again."""
    try:
        message = await outbox.with_files(message)
        email = build(
            sender=message.sender,
            recipients=message.recipients,
            content=message.content,
            message_id=message.message_id,
            date=message.created_at,
        )
    except Exception as error:
        log.warning("mail sender: could not build %s: %r", message.id, error)
        return Outcome("temporary", f"could not build the message: {type(error).__name__}: {error}")
    return await connection.send(email, message.sender, message.recipients)


class Recorder:
    """Group commit: outcomes handed in while a commit runs go into the next one together,
    so lanes sending at once share their commits. Each caller still waits until its own
    outcome is committed, so what the lanes promise about their window holds as before."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._waiting: list[tuple[Settled, anyio.Event, list[BaseException]]] = []
        self._committing = False

    async def record(self, settled: Settled) -> None:
        """Return once `settled` is committed; raise what the commit raised."""
        done, errors = anyio.Event(), []
        self._waiting.append((settled, done, errors))
        if not self._committing:
            self._committing = True
            try:
                while self._waiting:
                    group, self._waiting = self._waiting, []
                    try:
                        await self._outbox.settle([item for item, _, _ in group])
                    except Exception as error:
                        for _, _, failed in group:
                            failed.append(error)
                    finally:
                        for _, finished, _ in group:
                            finished.set()
            finally:
                self._committing = False
        await done.wait()
        if errors:
            raise errors[0]


@dataclass
class Kept:
    """An open SMTP connection and the commit of its last outcome (maybe still running)."""

    connection: Connection
    recorded: anyio.Event
    used: float = 0.0


def done() -> anyio.Event:
    event = anyio.Event()
    event.set()
    return event


class Dispatcher:
    def __init__(self, settings: MailSettings, outbox: Outbox, publish: Publish) -> None:
        self._settings = settings
        self._outbox = outbox
        self._recorder = Recorder(outbox)
        self._publish = publish
        self._wake = anyio.Event()
        self._connections = anyio.CapacityLimiter(settings.max_connections)
        self._idle: list[Kept] = []  # kept open between batches
        self._retry_at: float | None = None  # the soonest retry planned in this round
        self._scope = anyio.CancelScope()
        self._stopping = False
        self._stopped: anyio.Event | None = None

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled or stopped; a database hiccup is logged and tried again."""
        self._stopped = anyio.Event()
        try:
            with self._scope:
                async with anyio.create_task_group() as self._settling:
                    await self._loop()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await self._close_idle(older_than=0)
            self._stopped.set()

    async def stop(self) -> None:
        """Finish the transactions under way, record them, give back the rest; cancel only
        if that takes longer than a transaction may. Called from the `shutdown` hook: a
        query cancelled mid-flight leaves SQLAlchemy a connection it cannot close."""
        self._stopping = True
        self._wake.set()
        if self._stopped is not None:
            with anyio.move_on_after(self._settings.smtp_timeout + 2) as waited:
                await self._stopped.wait()
            if waited.cancelled_caught:
                self._scope.cancel()
                with anyio.move_on_after(2):
                    await self._stopped.wait()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                delay = await self.step()
            except Exception:
                log.exception("mail sender: one round failed; trying again")
                delay = self._settings.poll_interval
            if delay and not self._stopping:
                await self._close_idle(older_than=KEEP_IDLE)
                with anyio.move_on_after(min(delay, KEEP_IDLE) if self._idle else delay):
                    await self._wake.wait()

    async def _close_idle(self, older_than: float) -> None:
        """Quit connections unused for `older_than` seconds (batches arriving in a stream
        reuse them instead of paying a new connection, TLS and login each time)."""
        cutoff = anyio.current_time() - older_than
        stale = [kept for kept in self._idle if kept.used <= cutoff]
        self._idle = [kept for kept in self._idle if kept.used > cutoff]
        for kept in stale:
            await kept.connection.close()

    async def step(self) -> float:
        """Send one batch; returns how long to wait before the next (0: go on at once)."""
        settings = self._settings
        self._wake = anyio.Event()
        self._retry_at = None
        claim = await self._outbox.claim(
            settings.batch_size, settings.sending_lease, settings.max_attempts
        )
        for spent in claim.given_up:
            log.warning("mail sender: gave up on %s after %d attempts", spent.id, spent.attempts)
            await self._announce(spent, FAILED, GAVE_UP)
        if claim.messages:
            await self.send(claim.messages)
        if claim.full:
            return 0.0
        due = min((t for t in (claim.next_due, self._retry_at) if t is not None), default=None)
        if due is None:
            return settings.poll_interval
        return max(min(due - now(), settings.poll_interval), 0.005)

    async def send(self, batch: list[Claimed]) -> None:
        """Send `batch`; returns when every message was tried (the last outcomes may still
        be committing: the next batch is claimed meanwhile)."""
        untried = {message.id for message in batch}
        try:
            async with anyio.create_task_group() as group:
                for lane in lanes(batch, self._settings.per_domain_concurrency):
                    group.start_soon(self._send_lane, lane, untried)
        finally:
            with anyio.CancelScope(shield=True):
                await self._outbox.release(sorted(untried))

    async def _send_lane(self, lane: list[Claimed], untried: set[str]) -> None:
        async with self._connections:
            kept = self._idle.pop() if self._idle else Kept(Connection(self._settings), done())
            finished = False
            try:
                for message in lane:
                    if self._stopping:
                        break
                    untried.discard(message.id)
                    outcome = await attempt(kept.connection, message, self._outbox)
                    # Committed beside the next transaction, one commit per connection at
                    # a time (the wait is for the commit before this one, even if it was
                    # another batch's): at most two replies per connection wait for theirs.
                    await kept.recorded.wait()
                    kept.recorded = anyio.Event()
                    settled = self._plan(message, outcome)
                    self._settling.start_soon(self._settle, message, settled, kept.recorded)
                finished = True
            finally:
                if finished:
                    kept.used = anyio.current_time()
                    self._idle.append(kept)
                else:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                        await kept.connection.close()

    def _plan(self, message: Claimed, outcome: Outcome) -> Settled:
        """What to record: sent; a temporary failure queued again after a backoff (until
        `max_attempts`); anything else failed for good."""
        settings, attempts = self._settings, message.attempts
        if outcome.kind == "sent":
            return Settled(message.id, SENT, outcome.reply)
        if outcome.kind == "temporary" and attempts < settings.max_attempts:
            at = now() + backoff(attempts, settings.retry_delay, settings.max_retry_delay)
            self._retry_at = at if self._retry_at is None else min(self._retry_at, at)
            return Settled(message.id, QUEUED, outcome.reply, send_at=at)
        return Settled(message.id, FAILED, outcome.reply)

    async def _settle(self, message: Claimed, settled: Settled, recorded: anyio.Event) -> None:
        with anyio.CancelScope(shield=True):  # a reply received is always recorded
            try:
                await self._recorder.record(settled)
            except Exception:  # the lease runs out and the message is sent again
                log.exception("mail sender: could not record the outcome of %s", message.id)
                return
            finally:
                recorded.set()
            if settled.state != QUEUED:
                await self._announce(message, settled.state, settled.reply)

    async def _announce(self, message: Claimed, state: str, reply: str) -> None:
        """Publish `mail.sent` or `mail.failed` for a message settled as `state`."""
        event = MailSent if state == SENT else MailFailed
        await self._publish(
            event(
                id=message.id,
                message_id=message.message_id,
                to=message.recipients,
                reply=reply,
                attempts=message.attempts,
            )
        )
