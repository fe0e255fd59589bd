"""The example plugin, tested the way any plugin author would: through the `kernel` fixture."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mindframe.sdk.i18n import LOCALES

pytestmark = pytest.mark.anyio


async def test_greeting_is_stored_counted_and_announced(kernel):
    response = await kernel.client.post("/api/hello/greetings", json={"name": "Ada"})
    assert response.status_code == 201
    assert response.json() == {"text": "Hello, Ada!", "count": 1}
    event = await kernel.bus_probe.next("hello.greeted", timeout=5)
    assert (event.name, event.text) == ("Ada", "Hello, Ada!")
    await kernel.client.post("/api/hello/greetings", json={"name": "Ada"})
    assert (await kernel.client.get("/api/hello/greetings/Ada")).json()["count"] == 2
    assert (await kernel.client.get("/api/hello/names")).json() == ["Ada"]


async def test_too_long_name_is_a_400_and_nothing_is_stored(kernel):
    response = await kernel.client.post("/api/hello/greetings", json={"name": "x" * 41})
    assert response.status_code == 400
    assert response.json()["detail"] == "name is longer than 40 characters"
    assert (await kernel.client.get("/api/hello/names")).json() == []


async def test_settings_come_from_the_plugins_section(boot_kernel):
    settings = {"hello": {"greeting": "Hei", "max_name_length": "3"}}
    async with boot_kernel(["hello"], settings=settings) as kernel:
        response = await kernel.client.post("/api/hello/greetings", json={"name": "Ola"})
        assert response.json()["text"] == "Hei, Ola!"
        assert (
            await kernel.client.post("/api/hello/greetings", json={"name": "Kari"})
        ).status_code == 400


async def test_a_wrongly_typed_setting_fails_the_plugin_naming_the_key(boot_kernel):
    async with boot_kernel(["hello"], settings={"hello": {"max_name_length": "many"}}) as kernel:
        assert kernel.state("hello") == "failed"
        assert "settings of plugin 'hello': key 'max_name_length'" in kernel.error("hello")


async def test_health_reports_the_number_of_greetings(kernel):
    await kernel.client.post("/api/hello/greetings", json={"name": "Linus"})
    health = (await kernel.client.get("/health")).json()
    assert health["plugins"]["hello"] == {"state": "active", "ok": True, "greetings": 1}


def catalog_greeting(locale: str, name: str) -> str:
    """The greeting as `locale`'s catalog writes it."""
    path = Path(__file__).parents[1] / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file)
    greeting = catalog["{greeting}, {name}!"].string
    return greeting.format(greeting=catalog["Hello"].string, name=name)


async def test_a_greeting_answers_in_the_language_each_request_asks_for(boot_kernel):
    async with boot_kernel(
        ["hello", "i18n"], settings={"i18n": {"default_locale": "de"}}
    ) as kernel:
        for locale in LOCALES:
            ask = {"Accept-Language": locale.replace("_", "-")}
            response = await kernel.client.get("/api/hello/greetings/Ada", headers=ask)
            assert response.json()["text"] == catalog_greeting(locale, "Ada"), locale
        unasked = await kernel.client.get("/api/hello/greetings/Ada")
        assert unasked.json()["text"] == "Hallo, Ada!"  # the settings' default locale
