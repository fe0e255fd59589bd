"""Canned responses: seven built in, in all seven languages, with their placeholders filled;
those people write, per language; ranked most used first, by another plugin's ranker when
one is provided, or by the learning engine when it runs; a reply with one lands in the
conversation as the agent's message."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from mindframe_plugins.support.canned import BUILTINS, fill
from support_testlib import AGENT, MANAGER, eventually, ticket_of, visitor

from mindframe.sdk.i18n import LOCALES

pytestmark = pytest.mark.anyio
LOCALES_FOLDER = Path(__file__).parents[1] / "locales"


def catalog_text(locale: str, message: str) -> str:
    with (LOCALES_FOLDER / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file)[message].string


async def named_agent(kernel, name: str):
    """An agent whom customers know as `name` (set by a manager)."""
    agent = await kernel.as_user(AGENT)
    manager = await kernel.as_user(MANAGER)
    me = (await agent.get("/api/auth/me")).json()["id"]
    named = await manager.put(f"/api/support/agents/{me}", json={"name": name})
    assert named.status_code == 200, named.text
    return agent


async def a_ticket(kernel, agent, name: str = "Kari"):
    conversation_id = await (await visitor(kernel, name)).start("Hello")
    return await ticket_of(kernel, agent, conversation_id)


async def test_the_builtin_responses_come_in_all_seven_languages_filled_in(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await named_agent(kernel, "Ola")
        ticket = await a_ticket(kernel, agent)
        shown = {}
        for locale in LOCALES:
            answer = await agent.get(
                f"/api/support/tickets/{ticket['id']}/canned", params={"locale": locale}
            )
            assert answer.status_code == 200, answer.text
            shown[locale] = {s["id"]: s for s in answer.json()}
    values = {"visitor_name": "Kari", "agent_name": "Ola", "ticket_id": ticket["id"]}
    assert len(BUILTINS) >= 6
    for locale in LOCALES:
        for builtin in BUILTINS:
            translated = catalog_text(locale, builtin.text)
            assert translated, (locale, builtin.key)
            suggestion = shown[locale][builtin.id]
            assert suggestion["template"] == translated
            assert suggestion["text"] == fill(translated, values)
            assert "{" not in suggestion["text"], suggestion["text"]
    norwegian = shown["nb"]["builtin:greeting"]["text"]
    assert norwegian == "Hei Kari, takk for at du tok kontakt! Jeg heter Ola og skal hjelpe deg."
    assert len({shown[locale]["builtin:greeting"]["text"] for locale in LOCALES}) == 6  # en x2


async def test_a_canned_reply_lands_in_the_conversation_as_the_agent_in_its_language(
    support_kernel,
):
    async with support_kernel(assignment="manual") as kernel:
        agent = await named_agent(kernel, "Ola")
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start("Takk for hjelpen!")
        ticket = await ticket_of(kernel, agent, conversation_id)
        sent = await agent.post(
            f"/api/support/tickets/{ticket['id']}/reply",
            json={"canned_id": "builtin:goodbye", "locale": "nb"},
        )
        read = await kari.messages(conversation_id)
    expected = "Takk for at du kontaktet oss, Kari. Ha en fin dag! Hilsen Ola"
    assert sent.status_code == 201, sent.text
    assert sent.json()["text"] == expected
    assert (read[-1]["text"], read[-1]["author"]["kind"]) == (expected, "agent")


async def test_the_most_used_responses_come_first(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        ticket = await a_ticket(kernel, agent)
        url = f"/api/support/tickets/{ticket['id']}"
        before = [s["id"] for s in (await agent.get(f"{url}/canned")).json()]
        for canned_id in ("builtin:solved", "builtin:waiting", "builtin:solved"):
            sent = await agent.post(f"{url}/reply", json={"canned_id": canned_id})
            assert sent.status_code == 201, sent.text
        after = [s["id"] for s in (await agent.get(f"{url}/canned")).json()]
        listed = {r["id"]: r["uses"] for r in (await agent.get("/api/support/canned")).json()}
    assert before[:2] == ["builtin:goodbye", "builtin:details"]  # /bye, /details: by name
    assert after[:2] == ["builtin:solved", "builtin:waiting"]
    assert (listed["builtin:solved"], listed["builtin:waiting"], listed["builtin:goodbye"]) == (
        2,
        1,
        0,
    )


async def test_managers_write_responses_for_a_language_and_agents_may_not(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        manager, agent = await kernel.as_user(MANAGER), await kernel.as_user(AGENT)
        written = {
            "shortcut": "/refund",
            "locale": "nb",
            "text": "Pengene er på vei, {visitor_name}.",
        }
        made = await manager.post("/api/support/canned", json=written)
        again = await manager.post("/api/support/canned", json=written)
        by_agent = await agent.post("/api/support/canned", json={**written, "shortcut": "/x"})
        bad_locale = await manager.post("/api/support/canned", json={**written, "locale": "xx"})
        in_norwegian = [
            r["shortcut"] for r in (await agent.get("/api/support/canned?locale=nb")).json()
        ]
        in_german = [
            r["shortcut"] for r in (await agent.get("/api/support/canned?locale=de")).json()
        ]
        ticket = await a_ticket(kernel, agent, "Kari")
        reply = await agent.post(
            f"/api/support/tickets/{ticket['id']}/reply",
            json={"canned_id": made.json()["id"], "locale": "nb"},
        )
        builtin_gone = await manager.delete("/api/support/canned/builtin:greeting")
        deleted = await manager.delete(f"/api/support/canned/{made.json()['id']}")
        deleted_again = await manager.delete(f"/api/support/canned/{made.json()['id']}")
    assert made.status_code == 201, made.text
    assert (again.status_code, by_agent.status_code, bad_locale.status_code) == (409, 403, 400)
    assert "/refund" in in_norwegian and "/refund" not in in_german
    assert reply.json()["text"] == "Pengene er på vei, Kari."
    assert (builtin_gone.status_code, deleted.status_code, deleted_again.status_code) == (
        409,
        204,
        404,
    )


RANKER = '''
from mindframe.sdk import hookimpl
from mindframe.sdk.chat import ResponseRanker


class Alphabetical(ResponseRanker):
    """Shortcuts in reverse alphabetical order; remembers what agents chose."""

    def __init__(self):
        self.chosen_ids = []

    async def rank(self, conversation, recent, candidates):
        return sorted(candidates, key=lambda c: c.shortcut, reverse=True)

    async def chosen(self, conversation, response):
        self.chosen_ids.append(response.id)


@hookimpl
def register_services(ctx):
    ctx.provide(ResponseRanker, Alphabetical())
'''


async def test_another_plugins_ranker_replaces_the_default_without_importing_either(
    support_kernel, plugin_factory
):
    plugin_factory.make("reverse-ranker", RANKER)
    async with support_kernel(assignment="manual", plugins=("reverse-ranker",)) as kernel:
        agent = await kernel.as_user(AGENT)
        ticket = await a_ticket(kernel, agent)
        url = f"/api/support/tickets/{ticket['id']}"
        await agent.post(f"{url}/reply", json={"canned_id": "builtin:goodbye"})
        ranked = [s["shortcut"] for s in (await agent.get(f"{url}/canned")).json()]
        from mindframe.sdk.chat import ResponseRanker

        ranker = kernel.runtime.container.resolve(ResponseRanker)
        admin = await kernel.as_user(admin=True)
        disabled = await admin.post("/api/kernel/plugins/reverse-ranker/disable")
        assert disabled.status_code == 200, disabled.text
        default = [s["id"] for s in (await agent.get(f"{url}/canned")).json()]
    assert ranked == sorted(ranked, reverse=True)
    assert ranker.chosen_ids == ["builtin:goodbye"]
    assert default[0] == "builtin:goodbye"  # most used again, once the other ranker left


@pytest.mark.slow
async def test_with_the_learning_engine_running_the_ranking_learns_each_languages_choice(
    support_kernel,
):
    async with support_kernel(assignment="manual", plugins=("learning",)) as kernel:
        agent = await kernel.as_user(AGENT)
        chosen = {"nb": "builtin:details", "de": "builtin:escalate"}
        tickets = {}
        for locale in chosen:
            visitor_ = await visitor(kernel, "Kari", locale)
            conversation_id = await visitor_.start("Hello")
            tickets[locale] = await ticket_of(kernel, agent, conversation_id)
        firsts: dict[str, list[str]] = {locale: [] for locale in chosen}
        for _ in range(60):
            for locale, ticket in tickets.items():
                url = f"/api/support/tickets/{ticket['id']}"
                ranked = (await agent.get(f"{url}/canned", params={"locale": locale})).json()
                firsts[locale].append(ranked[0]["id"])
                sent = await agent.post(f"{url}/reply", json={"canned_id": chosen[locale]})
                assert sent.status_code == 201
        info = await eventually(lambda: _policy(kernel))
    for locale, wanted in chosen.items():
        assert firsts[locale][-20:].count(wanted) >= 14, (locale, firsts[locale])
    assert info.rewards >= 120


async def _policy(kernel):
    from mindframe.sdk.learning import LearningEngine

    return await kernel.runtime.container.resolve(LearningEngine).info("support-canned-responses")
