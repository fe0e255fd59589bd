"""The whole healthcare set in the registry: `GET /api/agents` lists every one of the ten
agents in each of the seven locales, its title and description as that agent's own catalog
translates them."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mindframe.sdk.agents import AgentRegistry
from mindframe.sdk.i18n import LOCALES

pytestmark = pytest.mark.anyio

HEALTHCARE = Path(__file__).parents[2] / "healthcare"
AGENTS = sorted(folder.parent.name for folder in HEALTHCARE.glob("*/plugin.toml"))


def translation(agent: str, locale: str, message: str) -> str:
    path = HEALTHCARE / agent / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        found = read_po(file, locale=locale)[message]
    assert found is not None and found.string, (agent, locale, message)
    return found.string


async def test_every_healthcare_agent_is_listed_in_every_locale(boot_kernel):
    assert len(AGENTS) == 10
    async with boot_kernel([*AGENTS, "i18n"]) as kernel:
        registry = kernel.runtime.container.resolve(AgentRegistry)
        for locale in LOCALES:
            response = await kernel.client.get(
                "/api/agents", headers={"Accept-Language": locale.replace("_", "-")}
            )
            assert response.status_code == 200, response.text
            listed = {agent["name"]: agent for agent in response.json()}
            assert sorted(listed) == AGENTS, locale
            for name, described in listed.items():
                declared = registry.get(name).agent
                assert described["industry"] == "healthcare"
                title = translation(name, locale, declared.title)
                assert described["title"] == title, (name, locale)
                description = translation(name, locale, declared.description)
                assert described["description"] == description, (name, locale)
                if not locale.startswith("en"):
                    assert title != declared.title, (name, locale)  # not left in English
