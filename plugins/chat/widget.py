"""The widget: `/chat/widget.js`, one file any site embeds with a `<script>` tag, and its
texts in the visitor's locale (`/api/chat/widget/strings`, from `Accept-Language` or the
tag's `data-locale`)."""

from __future__ import annotations

from pathlib import Path

from litestar import Request, Response, get
from litestar.params import FromQuery

from mindframe.sdk import PluginContext
from mindframe.sdk.auth import request_service
from mindframe.sdk.i18n import N_, Translations, request_localizer

SCRIPT = Path(__file__).parent / "static" / "widget.js"
STRINGS = {
    "title": N_("Chat with us"),
    "placeholder": N_("Write a message…"),
    "send": N_("Send"),
    "online": N_("We are online"),
    "offline": N_("Nobody is online right now; leave a message and we will answer"),
    "connecting": N_("Connecting…"),
    "typing": N_("{name} is typing…"),
    "someone": N_("Someone"),
    "attach": N_("Attach a file"),
    "open": N_("Open the chat"),
    "you": N_("You"),
    "too_large": N_("That file is too large"),
}


def routes(ctx: PluginContext) -> list:
    @get("/widget/strings", summary="The widget's texts in the visitor's locale")
    async def widget_strings(
        request: Request, locale: FromQuery[str | None] = None
    ) -> Response[dict[str, str]]:
        translations = request_service(request, Translations)
        if translations is not None and locale:
            accept = request.headers.get("accept-language")
            localizer = translations.localizer(ctx.name, translations.negotiate(locale, accept))
        else:
            localizer = request_localizer(request, ctx)
        texts = {key: localizer.gettext(text) for key, text in STRINGS.items()}
        texts["locale"] = localizer.locale
        return Response(
            texts, headers={"Access-Control-Allow-Origin": "*", "Vary": "Accept-Language"}
        )

    return [widget_strings]


@get("/widget.js", summary="The chat widget", include_in_schema=False)
async def widget_script() -> Response[bytes]:
    return Response(
        SCRIPT.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )
