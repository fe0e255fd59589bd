"""Templates: the three built-ins, other plugins' own, rendered in the recipient's locale."""

from __future__ import annotations

import pytest

from mindframe.sdk.mail import Mailer
from mindframe.sdk.smtp_sink import Sink

pytestmark = pytest.mark.anyio

TEMPLATE_PLUGIN = """
from pathlib import Path

from mindframe.sdk import hookimpl
from mindframe.sdk.mail import Mailer


@hookimpl
async def startup(ctx):
    mailer = ctx.resolve(Mailer)
    ctx.on_unload(mailer.register_templates(Path(__file__).parent / "mail_templates", ctx.name))
"""


def service(kernel):
    return kernel.runtime.container.resolve(Mailer)


async def test_builtin_templates_render_text_and_html(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        await service(kernel).send(
            ["ops@example.org"],
            template="error_alert",
            context={
                "service": "billing",
                "error": "<script>x</script>",
                "url": "https://x.test/1",
            },
        )
        await service(kernel).send(
            ["ops@example.org"],
            template="daily_report",
            context={"date": "2026-11-25", "figures": {"mails sent": 12}},
        )
        await sink.wait_for(2)
    alert = next(m for m in sink.received if "billing" in m["Subject"])
    assert alert["Subject"] == "[billing] Error: <script>x</script>"
    assert "<script>x</script>" in alert.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in alert.get_body(("html",)).get_content()
    report = next(m for m in sink.received if "Daily" in m["Subject"])
    assert "mails sent: 12" in report.get_body(("plain",)).get_content()


async def test_a_plugin_adds_templates_from_its_folder_and_unloading_removes_them(
    mail_kernel, plugin_factory, sink: Sink
):
    plugin_factory.make(
        "invoicing",
        TEMPLATE_PLUGIN,
        requires=["mail"],
        files={
            "mail_templates/invoice/subject.txt": "Invoice {{ number }}",
            "mail_templates/invoice/body.txt": "Pay {{ amount }}",
        },
    )
    async with mail_kernel(plugins=("invoicing",)) as kernel:
        assert kernel.state("invoicing") == "active", kernel.error("invoicing")
        response = await kernel.client.post(
            "/api/mail/messages",
            json={
                "to": ["c@example.org"],
                "template": "invoice",
                "context": {"number": 7, "amount": "10 NOK"},
            },
        )
        assert response.status_code == 202
        await sink.wait_for(1)
        await kernel.runtime.disable("invoicing")
        gone = await kernel.client.post(
            "/api/mail/messages",
            json={
                "to": ["c@example.org"],
                "template": "invoice",
                "context": {"number": 8, "amount": "1"},
            },
        )
    assert sink.subjects() == ["Invoice 7"]
    assert gone.status_code == 422


async def test_template_is_rendered_in_the_locale_asked_for(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        await kernel.client.post(
            "/api/mail/messages",
            json={
                "to": ["a@example.org"],
                "template": "daily_report",
                "context": {"date": "d", "figures": {}},
                "locale": "nb",
            },
        )
        await sink.wait_for(1)
        [row] = (await kernel.client.get("/api/mail/messages")).json()
    assert row["locale"] == "nb"
    assert '<html lang="nb">' in sink.received[0].get_body(("html",)).get_content()


async def test_with_the_i18n_plugin_the_template_speaks_the_recipients_language(
    mail_kernel, sink: Sink
):
    async with mail_kernel(plugins=("i18n",)) as kernel:
        for locale in ("nb", "de_AT", "xx"):
            await kernel.client.post(
                "/api/mail/messages",
                json={
                    "to": ["a@example.org"],
                    "template": "daily_report",
                    "context": {"date": "1.12.", "figures": {}},
                    "locale": locale,
                    "priority": "high",
                },
            )
            await sink.wait_for(len(sink.received) + 1)
        locales = [m["locale"] for m in (await kernel.client.get("/api/mail/messages")).json()]
    assert sink.subjects() == ["Dagsrapport 1.12.", "Tagesbericht 1.12.", "Daily report 1.12."]
    assert sorted(locales) == ["de", "en_US", "nb"]
