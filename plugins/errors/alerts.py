"""Alerts: a new issue, a regression or a spike, told by mail and to a webhook, durably.

New and regressed issues arrive as bus events (`errors.issue.created`, `.regressed`);
spikes are found by the `alerts` job itself, from the events table. Either way the alert is
committed to `errors_alerts` with one pending delivery per configured channel
(`alert_store.py`) before anything is sent, and the same job delivers what is due: by mail
through the mail plugin's `Mailer` (in each recipient's locale, with its `error_alert`
template) and as a Slack-compatible message to the webhook (`slack.py`). A delivery that
fails is retried with growing pauses until it goes through, so a webhook that is down gets
every alert once it is back. Without the mail plugin, mail deliveries wait (and retry)
until it is there or they give up; everything else works.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.mail import Mailer, MailError, MailRequest

from . import alert_store, slack
from .alert_settings import AlertSettings
from .alert_text import compose, localizer
from .events import IssueCreated, IssueEvent, IssueRegressed

BATCH = 100
CONCURRENT_DELIVERIES = 4
FORGET_EVERY = 3600.0


class Undeliverable(Exception):
    """This try failed; the delivery is retried later."""


class Alerts:
    def __init__(self, ctx: PluginContext, settings: AlertSettings, public_url: str) -> None:
        self._ctx = ctx
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self.job: Any = None
        self.delivered = 0
        self.last_error: str | None = None
        self._forgotten_at = 0.0

    # --- raising -------------------------------------------------------------------------

    def subscribe(self) -> None:
        """Hear new and regressed issues (durably: what arrives while stopped comes later)."""
        for topic in (IssueCreated.topic, IssueRegressed.topic):
            self._ctx.subscribe(topic, self.on_issue, name=f"errors alerts: {topic}", durable=True)

    def start(self) -> None:
        """Run the `alerts` job: spikes, then the deliveries that are due."""
        self.job = self._ctx.singleton("alerts", self.run, every=self._settings.alert_interval)

    async def on_issue(self, event: IssueEvent) -> None:
        if isinstance(event, IssueRegressed):
            kind, key = "regressed", f"regressed:{event.issue_id}:{event.last_seen.timestamp()}"
            extra = {"release": event.release}
        else:
            kind, key, extra = "created", f"created:{event.issue_id}", {}
        facts = {
            "kind": kind,
            "issue_id": event.issue_id,
            "project_id": event.project_id,
            "title": event.title,
            "level": event.level,
            "culprit": event.culprit,
            "first_seen": event.first_seen.timestamp(),
            "last_seen": event.last_seen.timestamp(),
            "count": event.count,
            **extra,
        }
        await self._raise(key, facts)

    async def _raise(self, key: str, facts: dict[str, Any]) -> None:
        def record(session: Any) -> int | None:
            facts["project"] = alert_store.project_name(session, facts["project_id"])
            return alert_store.raise_alert(
                session, key, facts, self.channels(), time.time(), self._settings.alert_cooldown
            )

        if await self._ctx.transaction(record) is not None and self.job is not None:
            self.job.wake()

    def channels(self) -> list[str]:
        """The channels configured now."""
        wanted = []
        if self._settings.alert_recipients:
            wanted.append("mail")
        if self._settings.alert_webhook_url:
            wanted.append("webhook")
        return wanted

    async def find_spikes(self) -> None:
        threshold, window = self._settings.spike_threshold, self._settings.spike_window
        if threshold <= 0:
            return
        now = time.time()
        found = await self._ctx.transaction(alert_store.spiking, now, window, threshold)
        for issue in found:
            facts = {
                "kind": "spike",
                "issue_id": issue["id"],
                "project_id": issue["project_id"],
                "title": issue["title"],
                "level": issue["level"],
                "culprit": issue["culprit"],
                "first_seen": issue["first_seen"],
                "last_seen": issue["last_seen"],
                "count": issue["count"],
                "recent": issue["recent"],
                "window": window,
            }
            await self._raise(f"spike:{issue['id']}:{int(now // window)}", facts)

    # --- delivering ----------------------------------------------------------------------

    async def run(self) -> None:
        """One run of the job: look for spikes, then deliver everything that is due."""
        await self.find_spikes()
        settings = self._settings
        batch = await self._ctx.transaction(alert_store.due, time.time(), BATCH)
        if batch:  # a client costs a TLS context (~50 ms of CPU): only when there is work
            async with httpx.AsyncClient(timeout=settings.alert_webhook_timeout) as client:
                while batch:
                    limiter = anyio.CapacityLimiter(CONCURRENT_DELIVERIES)
                    async with anyio.create_task_group() as group:
                        for delivery in batch:
                            group.start_soon(self._deliver, client, delivery, limiter)
                    if len(batch) < BATCH:
                        break
                    batch = await self._ctx.transaction(alert_store.due, time.time(), BATCH)
        if time.time() - self._forgotten_at > FORGET_EVERY:
            self._forgotten_at = time.time()
            keep = max(settings.alert_give_up_after, settings.alert_cooldown, 30 * 86400.0)
            await self._ctx.transaction(alert_store.forget_before, time.time() - keep)

    async def _deliver(
        self, client: httpx.AsyncClient, delivery: alert_store.Due, limiter: anyio.CapacityLimiter
    ) -> None:
        async with limiter:
            try:
                if delivery.channel == "mail":
                    await self._mail(delivery.facts)
                else:
                    await self._post(client, delivery.facts)
            except Undeliverable as error:
                await self._failed(delivery, str(error))
                return
            except Exception as error:  # a bug here must not hold back the other deliveries
                self._ctx.log.exception("alert delivery %d by %s", delivery.id, delivery.channel)
                await self._failed(delivery, f"{type(error).__name__}: {error}")
                return
        await self._ctx.transaction(alert_store.delivered, delivery.id, time.time())
        self.delivered += 1
        self.last_error = None

    async def _failed(self, delivery: alert_store.Due, error: str) -> None:
        settings, now = self._settings, time.time()
        self.last_error = f"{delivery.channel}: {error}"
        pause = min(
            settings.alert_retry_delay * 2 ** min(delivery.attempts, 30),
            settings.alert_max_retry_delay,
        )
        retry_at: float | None = now + pause
        if now - delivery.alert_created_at > settings.alert_give_up_after:
            retry_at = None
            self._ctx.log.error(
                "alert delivery %d by %s given up: %s", delivery.id, delivery.channel, error
            )
        await self._ctx.transaction(alert_store.not_delivered, delivery, error, now, retry_at)

    def issue_url(self, facts: dict[str, Any]) -> str | None:
        if not self._public_url:
            return None
        return f"{self._public_url}/errors/issues/{facts['issue_id']}"

    async def _mail(self, facts: dict[str, Any]) -> None:
        try:
            mailer = self._ctx.resolve(Mailer)
        except ServiceError:
            raise Undeliverable("the mail plugin is not active") from None
        messages = []
        for recipient in self._settings.alert_recipients:
            l10n = localizer(self._ctx, recipient.locale)
            text = compose(facts, l10n, self.issue_url(facts))
            context = {
                "service": text.project,
                "error": f"{text.kind}: {text.title}",
                "traceback": "\n".join(text.facts),
            }
            if text.url:
                context["url"] = text.url
            messages.append(
                MailRequest(
                    to=[recipient.address],
                    template="error_alert",
                    context=context,
                    locale=l10n.locale,
                )
            )
        try:
            await mailer.send_many(messages)
        except MailError as error:
            raise Undeliverable(f"the mail plugin refused it: {error}") from None

    async def _post(self, client: httpx.AsyncClient, facts: dict[str, Any]) -> None:
        url = self._settings.alert_webhook_url
        if not url:
            return  # no webhook any more: nothing to deliver to
        l10n = localizer(self._ctx, self._settings.alert_webhook_locale or None)
        body = slack.message(compose(facts, l10n, self.issue_url(facts)))
        try:
            await slack.post(client, url, body)
        except slack.WebhookDown as error:
            raise Undeliverable(str(error)) from None

    async def history(self, issue_id: int) -> list[dict[str, Any]]:
        return await self._ctx.transaction(alert_store.history, issue_id, read_only=True)

    async def health(self) -> dict[str, Any]:
        waiting, oldest = await self._ctx.transaction(alert_store.pending, read_only=True)
        return {
            "alerts_pending": waiting,
            "oldest_alert_waiting_seconds": round(time.time() - oldest, 1) if oldest else None,
            "alerts_delivered": self.delivered,
            "alerts_last_error": self.last_error,
        }
