"""The sender: claims due messages from the outbox and sends them, batch by batch.

A batch is split into lanes by recipient domain (at most `per_domain_concurrency` lanes
per domain); each lane sends its messages one after another over one SMTP connection,
and at most `max_connections` lanes run at once. A lane commits each outcome while it
sends the next message, so at most two answered messages per connection are waiting for
their commit: that is the whole at-least-once window. Connections outlive a batch by a
couple of idle seconds, so a stream of small batches shares them."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from itertools import count

import anyio

from .composing import build, domain_of
from .events import MailFailed, MailSent
from .outbox import Claimed, Outbox, now
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


class Dispatcher:
    def __init__(self, settings: MailSettings, outbox: Outbox, publish: Publish) -> None:
        self._settings = settings
        self._outbox = outbox
        self._publish = publish
        self._wake = anyio.Event()
        self._connections = anyio.CapacityLimiter(settings.max_connections)
        self._idle: list[tuple[float, Connection]] = []  # kept open between batches
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
        stale = [c for used, c in self._idle if used <= cutoff]
        self._idle = [(used, c) for used, c in self._idle if used > cutoff]
        for connection in stale:
            await connection.close()

    async def step(self) -> float:
        """Send one batch; returns how long to wait when there was nothing due."""
        settings = self._settings
        self._wake = anyio.Event()
        batch = await self._outbox.claim(settings.batch_size, settings.sending_lease)
        if batch:
            await self.send(batch)
            return 0.0
        due = await self._outbox.next_due()
        if due is None:
            return settings.poll_interval
        return max(min(due - now(), settings.poll_interval), 0.005)

    async def send(self, batch: list[Claimed]) -> None:
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
            connection = self._idle.pop()[1] if self._idle else Connection(self._settings)
            finished, recorded = False, anyio.Event()
            recorded.set()
            try:
                for message in lane:
                    if self._stopping:
                        break
                    untried.discard(message.id)
                    outcome = await connection.send(
                        build(
                            sender=message.sender,
                            recipients=message.recipients,
                            content=message.content,
                            message_id=message.message_id,
                            date=message.created_at,
                        ),
                        message.sender,
                        message.recipients,
                    )
                    # Committed beside the next transaction, one commit per lane at a
                    # time: at most two replies per connection wait for their commit.
                    await recorded.wait()
                    recorded = anyio.Event()
                    self._settling.start_soon(self._settle, message, outcome, recorded)
                await recorded.wait()
                finished = True
            finally:
                if finished:
                    self._idle.append((anyio.current_time(), connection))
                else:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                        await connection.close()

    async def _settle(self, message: Claimed, outcome: Outcome, done: anyio.Event) -> None:
        with anyio.CancelScope(shield=True):  # a reply received is always recorded
            try:
                await self._record(message, outcome)
            except Exception:  # the lease runs out and the message is sent again
                log.exception("mail sender: could not record the outcome of %s", message.id)
            finally:
                done.set()

    async def _record(self, message: Claimed, outcome: Outcome) -> None:
        settings, attempts = self._settings, message.attempts
        if outcome.kind == "sent":
            await self._outbox.mark_sent(message.id, outcome.reply)
        elif outcome.kind == "temporary" and attempts < settings.max_attempts:
            delay = backoff(attempts, settings.retry_delay, settings.max_retry_delay)
            await self._outbox.retry_later(message.id, outcome.reply, delay)
            return
        else:
            await self._outbox.mark_failed(message.id, outcome.reply)
        event = MailSent if outcome.kind == "sent" else MailFailed
        await self._publish(
            event(
                id=message.id,
                message_id=message.message_id,
                to=message.recipients,
                reply=outcome.reply,
                attempts=attempts,
            )
        )
