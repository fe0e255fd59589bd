"""Alerts reach people: a real SMTP server (aiosmtpd, through the mail plugin) and a local
HTTP server standing in for a Slack incoming webhook receive new issues, regressions and
spikes, each recipient in their own locale; an issue's cooldown holds; a webhook that is
down gets every alert once it is back, and only once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

import pytest
from alert_testlib import Webhook, error_event, listening, until
from mindframe_plugins.errors.alerts import Alerts

from mindframe.sdk.smtp_sink import mail_settings, smtp_sink

pytestmark = pytest.mark.anyio

QUICK = {
    "alert_interval": 0.05,
    "alert_retry_delay": 0.05,
    "alert_max_retry_delay": 0.2,
    "digest_interval": 0.05,
    "public_url": "http://errors.test",
}


class Setup:
    """A runtime with errors (and auth, i18n, and mail unless left out), a project, and a
    signed-in manager."""

    def __init__(self, kernel: Any, manager: Any, project: dict[str, Any]) -> None:
        self.kernel = kernel
        self.manager = manager
        self.project = project
        self.alerts: Alerts = kernel.runtime.container.resolve(Alerts)

    async def send(self, event: dict[str, Any]) -> None:
        key = self.project["keys"][-1]["public_key"]
        response = await self.kernel.client.post(
            f"/api/errors/api/{self.project['id']}/store/?sentry_key={key}", json=event
        )
        assert response.status_code == 200, response.text

    async def issues(self) -> list[dict[str, Any]]:
        response = await self.manager.get("/api/errors/issues")
        assert response.status_code == 200, response.text
        return response.json()

    async def issue_counting(self, count: int) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            found = await self.issues()
            return found[0] if found and found[0]["count"] >= count else None

        return await until(ready)

    async def runs_of_the_job(self, more: int) -> None:
        """Wait until the alerts job has run `more` times from now (so it had its chance)."""
        job = self.alerts.job
        start = job.runs
        await until(lambda: _true(job.runs >= start + more))


async def _true(value: bool) -> bool:
    return value


@asynccontextmanager
async def booted(
    boot_kernel: Any, errors: dict[str, Any], *, mail: dict[str, Any] | None = None
) -> AsyncIterator[Setup]:
    plugins = ["errors", "auth", "i18n"] + (["mail"] if mail is not None else [])
    settings = {"errors": {**QUICK, **errors}}
    if mail is not None:
        settings["mail"] = mail
    async with boot_kernel(plugins, settings=settings) as kernel:
        manager = await kernel.as_user(["errors.read", "errors.manage"])
        created = await manager.post("/api/errors/projects", json={"name": "shop <web>"})
        assert created.status_code == 201, created.text
        yield Setup(kernel, manager, created.json())


def body_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def test_a_new_issue_is_mailed_to_each_recipient_in_their_locale_and_posted_to_the_webhook(
    boot_kernel,
):
    async with smtp_sink() as sink, listening(Webhook()) as webhook:
        errors = {
            "alert_recipients": [
                {"address": "ops@example.org", "locale": "nb"},
                {"address": "dev@example.org", "locale": "de"},
            ],
            "alert_webhook_url": webhook.url,
            "alert_webhook_locale": "sv",
        }
        async with booted(boot_kernel, errors, mail=mail_settings(sink)) as setup:
            await setup.send(error_event("cart <!here> is empty"))
            await sink.wait_for(2, timeout=10)
            await until(lambda: _true(len(webhook.accepted()) == 1))
            issue = (await setup.issues())[0]

    by_address = {str(m["To"]): m for m in sink.received}
    norwegian, german = by_address["ops@example.org"], by_address["dev@example.org"]
    assert "[shop <web>]" in str(norwegian["Subject"])
    assert "Ny feil: ValueError: cart <!here> is empty" in str(norwegian["Subject"])
    assert "Neuer Fehler: ValueError: cart <!here> is empty" in str(german["Subject"])
    assert "Nivå: error" in body_of(norwegian)
    assert "1 hendelse så langt" in body_of(norwegian)
    assert "1 Ereignis bisher" in body_of(german)
    assert f"http://errors.test/errors/issues/{issue['id']}" in body_of(german)

    (posted,) = webhook.accepted()
    assert posted["text"] == "Nytt fel i shop <web>: ValueError: cart <!here> is empty"
    section = posted["blocks"][0]["text"]["text"]
    assert section.startswith("*Nytt fel i shop &lt;web&gt;*\n")
    assert f"<http://errors.test/errors/issues/{issue['id']}|" in section
    assert "cart &lt;!here&gt; is empty" in section and "<!here>" not in section
    assert "Nivå: error" in posted["blocks"][1]["elements"][0]["text"]


async def test_within_the_cooldown_the_same_issue_alerts_nobody_again(boot_kernel):
    async with smtp_sink() as sink, listening(Webhook()) as webhook:
        errors = {
            "alert_recipients": [{"address": "ops@example.org", "locale": "en_GB"}],
            "alert_webhook_url": webhook.url,
            "alert_cooldown": 3600.0,
            "spike_threshold": 2,  # the second event makes a spike
            "spike_window": 600.0,
        }
        async with booted(boot_kernel, errors, mail=mail_settings(sink)) as setup:
            await setup.send(error_event())
            await sink.wait_for(1, timeout=10)
            issue = await setup.issue_counting(1)

            await setup.send(error_event())  # a second event of the same issue: a spike
            await setup.issue_counting(2)
            resolved = await setup.manager.post(
                f"/api/errors/issues/{issue['id']}/resolve", params={"in_release": "shop@1.0.0"}
            )
            assert resolved.status_code == 200, resolved.text
            await setup.send(error_event(release="shop@1.1.0"))  # and a regression

            async def both_suppressed() -> bool:
                history = await setup.alerts.history(issue["id"])
                return {(a["kind"], a["suppressed"]) for a in history} == {
                    ("created", False),
                    ("spike", True),
                    ("regressed", True),
                }

            await until(both_suppressed)
            await setup.runs_of_the_job(3)
            history = await setup.alerts.history(issue["id"])

    assert len(sink.received) == 1
    assert len(webhook.received) == 1
    suppressed = [a for a in history if a["suppressed"]]
    assert all(a["deliveries"] == [] for a in suppressed)


async def test_after_the_cooldown_spikes_and_regressions_alert_again(boot_kernel):
    async with listening(Webhook()) as webhook:
        errors = {
            "alert_webhook_url": webhook.url,
            "alert_webhook_locale": "en_US",
            "alert_cooldown": 0.0,
            "spike_threshold": 2,
            "spike_window": 600.0,
        }
        async with booted(boot_kernel, errors) as setup:
            await setup.send(error_event())
            issue = await setup.issue_counting(1)
            await setup.send(error_event())
            await until(lambda: _true(len(webhook.accepted()) == 2))
            resolved = await setup.manager.post(
                f"/api/errors/issues/{issue['id']}/resolve", params={"in_release": "shop@1.0.0"}
            )
            assert resolved.status_code == 200, resolved.text
            await setup.send(error_event(release="shop@1.1.0"))
            await until(lambda: _true(len(webhook.accepted()) == 3))

    created, spike, regression = webhook.accepted()[:3]  # a new 10-minute window may spike again
    assert created["text"].startswith("New issue in shop <web>: ")
    assert spike["text"].startswith("Spike in shop <web>: ")
    assert "2 events in 10 minutes" in spike["blocks"][1]["elements"][0]["text"]
    assert regression["text"].startswith("Regression in shop <web>: ")
    assert "Seen again in release shop@1.1.0" in regression["blocks"][1]["elements"][0]["text"]


async def test_a_webhook_that_is_down_gets_the_alert_when_it_is_back_once(boot_kernel):
    webhook = Webhook(answers=[500])  # once up, it fails the first POST
    errors = {"alert_webhook_url": webhook.url, "alert_webhook_locale": "en_US"}
    async with booted(boot_kernel, errors) as setup:
        await setup.send(error_event())
        issue = await setup.issue_counting(1)

        async def refused_twice() -> dict[str, Any] | None:
            history = await setup.alerts.history(issue["id"])
            deliveries = history[0]["deliveries"] if history else []
            if deliveries and deliveries[0]["attempts"] >= 2:
                return deliveries[0]
            return None

        delivery = await until(refused_twice)  # nobody listens: connection refused
        assert delivery["state"] == "pending"
        assert "could not be reached" in delivery["last_error"]
        assert "secret" not in delivery["last_error"]  # the URL's secret is not kept

        async with listening(webhook):
            await until(lambda: _true(len(webhook.accepted()) == 1))
            await setup.runs_of_the_job(5)
            health = (await setup.kernel.client.get("/health")).json()
        history = await setup.alerts.history(issue["id"])

    assert [status for status, _ in webhook.received] == [500, 200]
    assert webhook.received[0][1] == webhook.received[1][1]  # the same alert, sent again
    (delivery,) = history[0]["deliveries"]
    assert (delivery["state"], delivery["last_error"]) == ("delivered", None)
    assert delivery["attempts"] >= 4  # refused twice at least, a 500, then delivered
    assert health["plugins"]["errors"]["alerts_pending"] == 0
    assert health["plugins"]["errors"]["alerts_delivered"] == 1


async def test_without_the_mail_plugin_mail_alerts_wait_and_the_webhook_still_gets_them(
    boot_kernel,
):
    async with listening(Webhook()) as webhook:
        errors = {
            "alert_recipients": [{"address": "ops@example.org"}],
            "alert_webhook_url": webhook.url,
        }
        async with booted(boot_kernel, errors) as setup:
            await setup.send(error_event())
            issue = await setup.issue_counting(1)
            await until(lambda: _true(len(webhook.accepted()) == 1))

            async def mail_waiting() -> dict[str, Any] | None:
                deliveries = (await setup.alerts.history(issue["id"]))[0]["deliveries"]
                mail = next(d for d in deliveries if d["channel"] == "mail")
                return mail if mail["attempts"] >= 1 else None

            mail = await until(mail_waiting)

    assert mail["state"] == "pending"
    assert mail["last_error"] == "the mail plugin is not active"
