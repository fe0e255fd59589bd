"""The `translations` hook adds catalog folders beside a plugin's own `locales/`."""

import pytest

from mindframe.sdk.i18n import Translations

pytestmark = pytest.mark.anyio

PO = """
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: nb\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "Good night"
msgstr "God natt"
"""

NIGHT = """
from pathlib import Path
from mindframe.sdk import hookimpl

@hookimpl
def translations(ctx):
    return [ctx.folder / "shared-catalogs"]
"""


async def test_catalogs_named_by_the_translations_hook_are_used(boot_kernel, plugin_factory):
    plugin_factory.make(
        "night",
        NIGHT,
        requires=["i18n"],
        files={"shared-catalogs/nb/LC_MESSAGES/messages.po": PO},
    )
    async with boot_kernel(["night"]) as kernel:
        ctx = kernel.runtime.plugin("night").context
        assert ctx.extra_catalogs == [ctx.folder / "shared-catalogs"]
        translations = kernel.runtime.container.resolve(Translations)
        assert translations.localizer("night", "nb").gettext("Good night") == "God natt"
        assert translations.localizer("night", "de").gettext("Good night") == "Good night"
