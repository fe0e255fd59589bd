"""`ErrorTracker`: the plugin's parts put together, one per runtime; the routes, the hooks
and the other plugins' pages reach everything through it (`ctx.resolve(ErrorTracker)`, or a
handler parameter named `error_tracker`)."""

from __future__ import annotations

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
        self.inbox = Inbox(ctx, on_commit=self.wake_digest)
        self.limiter = RateLimiter()
        self.intake = Intake(self.settings, self.projects, self.inbox, self.limiter)
        self.artifacts = Artifacts(ctx)
        self.digest = Digest(ctx, self.settings.digest_batch, self.settings.max_attachment_bytes)
        self.digest_job: Job | None = None
        self.builtin: Project | None = None
        """The project the runtime's own errors go to, once started."""

    def wake_digest(self) -> None:
        if self.digest_job is not None:
            self.digest_job.wake()

    async def start(self) -> None:
        """The inbox writer, the digest job and the built-in project."""
        self.ctx.spawn(self.inbox.run, name="errors inbox writer")
        self.digest_job = self.ctx.singleton(
            "digest", self.digest.run, every=self.settings.digest_interval
        )
        self.builtin = await self.projects.ensure(self.settings.builtin_project)
