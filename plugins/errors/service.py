"""`ErrorTracker`: the plugin's parts put together, one per runtime; the routes, the hooks
and the other plugins' pages reach everything through it (`ctx.resolve(ErrorTracker)`, or a
handler parameter named `error_tracker`)."""

from __future__ import annotations

import asyncio

from mindframe.sdk import Job, PluginContext

from .artifacts import Artifacts
from .digest import Digest
from .inbox import Inbox
from .intake import Intake
from .projects import Project, Projects
from .ratelimit import RateLimiter
from .settings import ErrorsSettings


class ErrorTracker:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.settings: ErrorsSettings = ctx.settings
        self.projects = Projects(ctx)
        self.inbox = Inbox(
            ctx, on_accept=self.wake_digest, fresh_limit=4 * self.settings.digest_batch
        )
        self.limiter = RateLimiter()
        self.intake = Intake(self.settings, self.projects, self.inbox, self.limiter)
        self.artifacts = Artifacts(ctx)
        self.digest = Digest(
            ctx, self.inbox, self.settings.digest_batch, self.settings.max_attachment_bytes
        )
        self.digest_job: Job | None = None
        self.builtin: Project | None = None
        """The project the runtime's own errors go to, once started."""
        self._undigested = 0  # envelopes accepted since the digest was last woken
        self._wake_timer: asyncio.TimerHandle | None = None

    def wake_digest(self, accepted: int = 1) -> None:
        """After `accepted` envelopes reached the inbox: wake the digest at once when a full
        batch waits, else within `digest_wait` seconds, so a burst is digested in full batches
        (each batch has a fixed cost: a dozen statements and a commit) and a lone envelope
        soon."""
        self._undigested += accepted
        if self._undigested >= self.settings.digest_batch or self.settings.digest_wait <= 0:
            self._wake_now()
        elif self._wake_timer is None:
            loop = asyncio.get_running_loop()
            self._wake_timer = loop.call_later(self.settings.digest_wait, self._wake_now)

    def _wake_now(self) -> None:
        self._cancel_wake()
        self._undigested = 0
        if self.digest_job is not None:
            self.digest_job.wake()

    def _cancel_wake(self) -> None:
        if self._wake_timer is not None:
            self._wake_timer.cancel()
            self._wake_timer = None

    async def start(self) -> None:
        """The built-in project, the inbox's spool and the digest job (last: what its first
        run reports, a torn record, goes to the built-in project)."""
        self.builtin = await self.projects.ensure(self.settings.builtin_project)
        self.inbox.open()
        await self.inbox.adopt_waiting_rows()
        self.ctx.on_unload(self._cancel_wake, "digest wake timer")
        self.digest_job = self.ctx.singleton(
            "digest", self.digest.run, every=self.settings.digest_interval
        )
