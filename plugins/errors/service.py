"""`ErrorTracker`: the plugin's parts put together, one per runtime; the routes, the hooks
and the other plugins' pages reach everything through it (`ctx.resolve(ErrorTracker)`, or a
handler parameter named `error_tracker`)."""

from __future__ import annotations

from mindframe.sdk import Job, PluginContext

from .artifacts import Artifacts
from .digest import Digest, workers_take_batches
from .inbox import Inbox
from .intake import Intake
from .pacing import DigestPacing
from .projects import Project, Projects
from .ratelimit import RateLimiter
from .settings import ErrorsSettings


class ErrorTracker:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.settings: ErrorsSettings = ctx.settings
        self.projects = Projects(ctx)
        self.inbox = Inbox(ctx, on_accept=self.wake_digest)
        min_batch = self.settings.digest_worker_min_batch
        pool = ctx.process_pool() if min_batch else None
        full = self.settings.digest_batch
        if workers_take_batches(pool, min_batch):  # wake the digest once a worker's batch waits
            full = min(min_batch, full)
        self.pacing = DigestPacing(
            full,
            self.settings.digest_wait,
            self.settings.digest_quiet,
            self._wake_job,
        )
        self.limiter = RateLimiter()
        self.intake = Intake(self.settings, self.projects, self.inbox, self.limiter)
        self.artifacts = Artifacts(ctx)
        self.digest = Digest(
            ctx,
            self.inbox,
            self.settings.digest_batch,
            self.settings.max_attachment_bytes,
            pacing=self.pacing,
            pool=pool,
            worker_min_batch=min_batch,
        )
        self.digest_job: Job | None = None
        self.builtin: Project | None = None
        """The project the runtime's own errors go to, once started."""

    def wake_digest(self, accepted: int = 1) -> None:
        """After `accepted` envelopes reached the inbox (see `pacing.py` for when it runs)."""
        self.pacing.accepted(accepted)
        self.digest.expect_work()

    def _wake_job(self) -> None:
        if self.digest_job is not None:
            self.digest_job.wake()

    async def start(self) -> None:
        """The built-in project, the inbox's spool and the digest job (last: what its first
        run reports, a torn record, goes to the built-in project)."""
        self.builtin = await self.projects.ensure(self.settings.builtin_project)
        self.inbox.open()
        await self.inbox.adopt_waiting_rows()
        self.ctx.on_unload(self.pacing.cancel, "digest wake timer")
        self.digest_job = self.ctx.singleton(
            "digest", self.digest.run, every=self.settings.digest_interval
        )
