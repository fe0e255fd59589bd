"""The i18n plugin over HTTP: negotiation, plural forms, Babel formats, catalogs that reload
with their plugin, and `mindframe i18n check`."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mindframe.sdk.auth import Authenticator
from mindframe.sdk.catalogs import Domain, catalog_problems, extract_messages
from mindframe.sdk.i18n import Translations

pytestmark = pytest.mark.anyio
NBSP, NNBSP = "\u00a0", "\u202f"
MINDFRAME = str(Path(sys.executable).parent / "mindframe")


def _load_tools():
    """The plugin's catalog tools, read from their file (they import only the SDK and Babel)."""
    path = Path(__file__).parents[1] / "tools.py"
    spec = importlib.util.spec_from_file_location("i18n_catalog_tools", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tools = _load_tools()


async def preview(kernel, language: str, **query) -> dict:
    response = await kernel.client.get(
        "/api/i18n/preview", params=query, headers={"Accept-Language": language}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("fi", "1 viesti", "2 viestiä"),
        ("nb-NO,nb;q=0.9", "1 melding", "2 meldinger"),
        ("de", "1 Nachricht", "2 Nachrichten"),
    ],
)
async def test_plural_forms_follow_the_locale(kernel, language, one, two):
    assert (await preview(kernel, language, count=1))["messages"] == one
    assert (await preview(kernel, language, count=2))["messages"] == two
    assert (await preview(kernel, language, count=0))["messages"] == two.replace("2", "0")


@pytest.mark.parametrize(
    ("locale", "currency", "money", "day"),
    [
        ("nb", "NOK", f"1{NBSP}234,50{NBSP}kr", "5. mars 2024"),
        ("sv", "SEK", f"1{NBSP}234,50{NBSP}kr", "5 mars 2024"),
        ("da", "DKK", f"1.234,50{NBSP}kr.", "5. mar. 2024"),
        ("fi", "EUR", f"1{NBSP}234,50{NBSP}€", "5.3.2024"),
        ("de", "EUR", f"1.234,50{NBSP}€", "05.03.2024"),
        ("en_US", "USD", "$1,234.50", "Mar 5, 2024"),
        ("en_GB", "GBP", "£1,234.50", "5 Mar 2024"),
    ],
)
async def test_currency_and_date_are_written_the_locales_way(kernel, locale, currency, money, day):
    body = await preview(kernel, locale.replace("_", "-"), currency=currency, day="2024-03-05")
    assert body["locale"] == locale
    assert body["currency"] == money
    assert body["date"] == day


async def test_relative_times_and_numbers_per_locale(kernel):
    assert (await preview(kernel, "de"))["relative"] == "vor 2 Tagen"
    assert (await preview(kernel, "fi"))["relative"] == "2 päivää sitten"
    assert (await preview(kernel, "en-GB"))["number"] == "1,234.5"
    assert (await preview(kernel, "sv"))["number"] == f"1{NBSP}234,5"


async def test_locale_is_the_users_choice_then_accept_language_then_the_default(boot_kernel):
    async with boot_kernel(["i18n"], settings={"i18n": {"default_locale": "da"}}) as kernel:
        assert (await preview(kernel, "fi", locale="sv"))["locale"] == "sv"
        assert (await preview(kernel, "pt-BR, fi;q=0.5"))["locale"] == "fi"
        assert (await preview(kernel, "en"))["locale"] == "en_US"
        assert (await preview(kernel, "no"))["locale"] == "nb"
        assert (await preview(kernel, "pt-BR"))["locale"] == "da"
        locales = (await kernel.client.get("/api/i18n/locales")).json()
        assert locales == {
            "locales": ["nb", "sv", "da", "fi", "de", "en_US", "en_GB"],
            "default": "da",
            "negotiated": "da",
        }


async def test_an_unknown_default_locale_fails_the_plugin_naming_the_key(boot_kernel):
    async with boot_kernel(["i18n"], settings={"i18n": {"default_locale": "pt"}}) as kernel:
        assert kernel.state("i18n") == "failed"
        assert "key 'default_locale'" in kernel.error("i18n")


async def test_ctx_gettext_speaks_the_default_locale_when_the_request_asks_for_none(
    boot_kernel,
):
    async with boot_kernel(
        ["hello", "i18n"], settings={"i18n": {"default_locale": "nb"}}
    ) as kernel:
        response = await kernel.client.post("/api/hello/greetings", json={"name": "Ada"})
        assert response.json()["text"] == "Hei, Ada!"
        response = await kernel.client.post("/api/hello/greetings", json={"name": "x" * 41})
        assert response.json()["detail"] == "navnet er lengre enn 40 tegn"


PO = """\
msgid ""
msgstr ""
"Language: {locale}\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "Good morning"
msgstr "{text}"
"""

WORDY = """\
from litestar import Request, get
from litestar.di import NamedDependency
from mindframe.sdk import hookimpl
from mindframe.sdk.i18n import Translations

@hookimpl
def register_routes(ctx):
    @get("/morning")
    async def morning(request: Request, translations: NamedDependency[Translations]) -> str:
        return translations.for_request(request, ctx.name).gettext("Good morning")
    return [morning]
"""


def write_catalogs(folder: Path, texts: dict[str, str]) -> None:
    for locale, text in texts.items():
        path = folder / "locales" / locale / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PO.format(locale=locale, text=text))


async def test_a_plugins_catalogs_reload_with_the_plugin(boot_kernel, plugin_factory):
    folder = plugin_factory.make("wordy", WORDY, requires=["i18n"])
    write_catalogs(folder, {"nb": "God morgen"})
    async with boot_kernel(["wordy"]) as kernel:
        ask = {"Accept-Language": "nb"}
        assert (await kernel.client.get("/api/wordy/morning", headers=ask)).text == "God morgen"
        write_catalogs(folder, {"nb": "God morgon, Norge"})
        assert (await kernel.runtime.reload("wordy")).ok
        assert (
            await kernel.client.get("/api/wordy/morning", headers=ask)
        ).text == "God morgon, Norge"


async def test_a_plugins_catalogs_are_there_from_its_start_whoever_asks(boot_kernel):
    async with boot_kernel(["hello", "i18n"]) as kernel:
        translations = kernel.runtime.container.resolve(Translations)
        assert translations.localizer("hello", "nb").gettext("Hello") == "Hei"
        assert translations.localizer("hello", "de").gettext("Hello") == "Hallo"


GREETER = """
from litestar import get
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import requires_login

@hookimpl
def register_routes(ctx):
    @get("/morning")
    async def morning() -> str:
        return ctx.gettext("Good morning")

    @get("/my-morning", guards=[requires_login])
    async def my_morning() -> str:
        return ctx.gettext("Good morning")

    return [morning, my_morning]
"""
FAST_AUTH = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
    "cookie_secure": False,  # the test client speaks plain http
}


async def test_ctx_gettext_speaks_the_signed_in_users_locale_over_accept_language(
    boot_kernel, plugin_factory
):
    folder = plugin_factory.make("greeter", GREETER, requires=["auth", "i18n"])
    write_catalogs(folder, {"fi": "Hyvää huomenta", "sv": "God morgon"})
    async with boot_kernel(["greeter"], settings={"auth": FAST_AUTH}) as kernel:
        authenticator = kernel.runtime.container.resolve(Authenticator)
        await authenticator.create_user("ada", "correct horse battery", locale="fi")
        swedish = {"Accept-Language": "sv"}
        assert (await kernel.client.get("/api/greeter/morning", headers=swedish)).text == (
            "God morgon"
        )
        signed_in = await kernel.client.post(
            "/api/auth/login", json={"username": "ada", "password": "correct horse battery"}
        )
        assert signed_in.status_code == 200, signed_in.text
        mine = await kernel.client.get("/api/greeter/my-morning", headers=swedish)
        assert (mine.status_code, mine.text) == (200, "Hyvää huomenta")


def run_i18n(command: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`mindframe i18n COMMAND ARGUMENTS…`, as a plugin author runs it."""
    return subprocess.run(
        [MINDFRAME, "i18n", command, *arguments], capture_output=True, text=True, timeout=120
    )


def test_check_passes_for_every_builtin_plugin_and_the_kernel():
    result = run_i18n("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every catalog is complete" in result.stdout


def test_check_lists_and_fails_on_a_plugin_with_a_missing_translation(plugin_factory):
    folder = plugin_factory.make("sloppy", WORDY.replace('"Good morning"', '"Good evening"'))
    translated = {"nb": "God morgen", "sv": "God morgon", "da": "Godmorgen", "fi": "Hyvää huomenta"}
    write_catalogs(folder, {**translated, "de": "", "en_US": "Good morning"})
    result = run_i18n("check", "--plugins-dir", str(plugin_factory.root), "--plugin", "sloppy")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "sloppy [nb] missing: 'Good evening'" in lines
    assert "sloppy [de] unused: 'Good morning'" in lines
    assert (
        "sloppy [en_GB] no catalog: " + str(folder / "locales/en_GB/LC_MESSAGES/messages.po")
        in lines
    )


def test_update_adds_new_messages_to_every_locale_and_check_then_names_them(plugin_factory):
    folder = plugin_factory.make("fresh", WORDY)
    (folder / "locales").mkdir()
    result = run_i18n("update", "--plugins-dir", str(plugin_factory.root), "--plugin", "fresh")
    assert result.returncode == 0, result.stderr
    catalog = (folder / "locales/fi/LC_MESSAGES/messages.po").read_text()
    assert 'msgid "Good morning"' in catalog
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in catalog
    check = run_i18n("check", "--plugins-dir", str(plugin_factory.root), "--plugin", "fresh")
    assert check.returncode == 1
    assert "fresh [fi] untranslated: 'Good morning'" in check.stdout


NOTES = """
from litestar import get
from mindframe.sdk import hookimpl

@hookimpl
def register_routes(ctx):
    @get("/hello/{who:str}")
    async def hello(who: str) -> str:
        if len(who) > 40:
            return ctx.gettext("A note is at most {limit} characters long.")
        return ctx.gettext("Hello, {who}!").format(who=who)
    return [hello]
"""
OLD_SWEDISH = """\
msgid ""
msgstr ""
"Language: sv\\n"

msgid "Hello, {who}!"
msgstr "Hej, {who}!"

msgid "Names are at most {limit} characters long."
msgstr "Namn får vara högst {limit} tecken långa."
"""


def test_update_never_guesses_a_translation_and_says_what_is_left_where(plugin_factory):
    sv = "locales/sv/LC_MESSAGES/messages.po"
    folder = plugin_factory.make("notes", NOTES, files={sv: OLD_SWEDISH})
    result = run_i18n("update", "--plugins-dir", str(plugin_factory.root), "--plugin", "notes")
    assert result.returncode == 0, result.stderr
    with (folder / sv).open("rb") as file:
        catalog = read_po(file)
    new = catalog["A note is at most {limit} characters long."]
    assert (new.string, new.fuzzy) == ("", False)
    assert catalog["Hello, {who}!"].string == "Hej, {who}!"
    assert "Namn får vara högst" not in (folder / sv).read_text()
    lines = result.stdout.splitlines()
    assert f"  notes [sv]: 1 untranslated; edit {folder / sv}" in lines
    nb = folder / "locales/nb/LC_MESSAGES/messages.po"
    assert f"  notes [nb]: 2 untranslated; edit {nb}" in lines
    assert sum(line.startswith("  notes [") for line in lines) == 7


def test_the_kernel_auth_and_i18n_catalogs_hold_exactly_their_messages_all_translated():
    domains = {d.name: d for d in tools.find_domains([tools.BUILTIN_PLUGINS])}
    for name in ("kernel", "auth", "i18n"):
        assert catalog_problems(domains[name]) == [], name
    kernel_messages = {m.id for m in extract_messages(domains["kernel"]) if m.id}
    assert "sign in first: this needs a signed-in user" in kernel_messages


def test_check_names_a_message_no_code_uses_any_more(plugin_factory):
    folder = plugin_factory.make("stale", WORDY)
    write_catalogs(folder, {locale: "x" for locale in ("nb", "sv", "da", "fi", "de")})
    path = folder / "locales/nb/LC_MESSAGES/messages.po"
    path.write_text(path.read_text() + '\nmsgid "Good night"\nmsgstr "God natt"\n')
    problems = [str(p) for p in catalog_problems(Domain("stale", (folder,), folder / "locales"))]
    assert "stale [nb] unused: 'Good night'" in problems
    assert "stale [sv] unused: 'Good night'" not in problems
