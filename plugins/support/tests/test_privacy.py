"""GDPR: a customer's tickets and ratings are exported (found by e-mail address, or by the
chat visitor id), then anonymised: safe to repeat, others' tickets untouched, the agents'
figures kept."""

from __future__ import annotations

import pytest
from support_testlib import AGENT, eventually, one_more_ticket, send_mail, ticket_of, visitor

from mindframe.sdk import PluginHooks, Subject

pytestmark = pytest.mark.anyio


async def support_outcome(kernel, hook: str, subject: Subject):
    hooks = kernel.runtime.container.resolve(PluginHooks)
    [outcome] = [o for o in await hooks.call_each(hook, subject=subject) if o.plugin == "support"]
    assert outcome.error is None, outcome.error
    return outcome.result


async def rate(kernel, agent, ticket: dict, score: int, comment: str) -> None:
    from mindframe_plugins.support.service import SupportService

    await agent.post(f"/api/support/tickets/{ticket['id']}/status", json={"status": "resolved"})
    service = kernel.runtime.container.resolve(SupportService)
    token = (await service.ticket(ticket["id"]))["csat_token"]
    rated = await kernel.client.post(
        f"/api/support/csat/{token}", json={"score": score, "comment": comment}
    )
    assert rated.status_code == 201, rated.text


async def test_a_customers_tickets_are_exported_then_anonymised_and_others_kept(mail_kernel):
    async with mail_kernel(assignment="manual", csat_by_mail=False) as kernel:
        agent = await kernel.as_user(AGENT)
        await send_mail(kernel.inbound_port, message_id="<k@customer.test>", text="My data")
        by_mail = await one_more_ticket(agent, 0)
        await rate(kernel, agent, by_mail, 2, "Kari Nordmann was unhappy")
        kari_web = await visitor(kernel, "Kari")
        on_web = await ticket_of(kernel, agent, await kari_web.start("Also me"))
        ola = await visitor(kernel, "Ola")
        others = await ticket_of(kernel, agent, await ola.start("Not Kari"))
        kari = Subject(
            "u-kari", email="KARI@customer.test", extra={"visitor_id": kari_web.visitor_id}
        )

        exported = await support_outcome(kernel, "export_personal_data", kari)
        for _ in range(2):  # safe to repeat
            await support_outcome(kernel, "erase_personal_data", kari)
        after = await support_outcome(kernel, "export_personal_data", kari)
        mail_kept = (await agent.get(f"/api/support/tickets/{by_mail['id']}")).json()
        ola_subject = Subject("u-ola", extra={"visitor_id": ola.visitor_id})
        others_kept = await support_outcome(kernel, "export_personal_data", ola_subject)
        figures = await eventually(lambda: _rated(kernel))
    found = {t["id"]: t for t in exported["tickets"]}
    assert set(found) == {by_mail["id"], on_web["id"]}
    assert found[by_mail["id"]]["customer_email"] == "kari@customer.test"
    assert found[by_mail["id"]]["csat"]["comment"] == "Kari Nordmann was unhappy"
    assert after == {"tickets": []}
    assert (mail_kept["customer_email"], mail_kept["customer_name"], mail_kept["subject"]) == (
        None,
        None,
        None,
    )
    assert mail_kept["status"] == "resolved" and mail_kept["resolved_at"] is not None
    assert [t["id"] for t in others_kept["tickets"]] == [others["id"]]
    assert figures == [(2, None)]  # the score counts on, the comment is gone


async def _rated(kernel):
    from mindframe_plugins.support.models import ratings
    from mindframe_plugins.support.service import SupportService
    from sqlalchemy import select

    service = kernel.runtime.container.resolve(SupportService)

    def read(session):
        return [tuple(row) for row in session.execute(select(ratings.c.score, ratings.c.comment))]

    return await service.ctx.transaction(read)
