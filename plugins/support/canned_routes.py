"""HTTP for canned responses: reading them in a language (agents), writing and deleting
the plugin's own (managers), under `/api/support/canned`."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from mindframe.sdk.auth import Identity
from mindframe.sdk.chat import CannedResponse
from mindframe.sdk.i18n import LOCALES, N_

from . import canned_store
from .access import AGENT, MANAGE
from .canned import BY_ID
from .db import now
from .service import SupportService
from .views import refusal

SHORTCUT_TAKEN = N_("the shortcut {shortcut} is taken in that language")
NO_RESPONSE = N_("there is no canned response {canned_id}")
BUILTIN = N_("built-in responses cannot be deleted")
UNKNOWN_LOCALE = N_("{locale} is not one of the languages: {locales}")


class NewResponse(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Annotated[str, msgspec.Meta(pattern=r"^/[\w-]{1,63}$")]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5_000)]
    locale: Annotated[str, msgspec.Meta(max_length=35)] | None = None


class ResponseView(msgspec.Struct):
    id: str
    shortcut: str
    text: str
    locale: str | None
    uses: int


def view(response: CannedResponse) -> ResponseView:
    return ResponseView(
        response.id, response.shortcut, response.text, response.locale, response.uses
    )


@get("/canned", guards=[AGENT], summary="Canned responses in a language (default: yours)")
async def list_responses(
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
    locale: Annotated[str | None, QueryParameter(max_length=35)] = None,
) -> list[ResponseView]:
    l10n = support_service.localizer(locale or identity.locale)
    found = await support_service.ctx.transaction(canned_store.candidates, l10n, read_only=True)
    return [view(response) for response in found]


@post(
    "/canned", guards=[MANAGE], summary="Write a canned response (placeholders: {visitor_name} …)"
)
async def add_response(
    data: JSONBody[NewResponse],
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
) -> ResponseView:
    if data.locale is not None and data.locale not in LOCALES:
        raise refusal(
            support_service, 400, UNKNOWN_LOCALE, locale=data.locale, locales=", ".join(LOCALES)
        )
    added = await support_service.ctx.transaction(
        canned_store.add, data.shortcut, data.locale, data.text, identity.user_id, now()
    )
    if added is None:
        raise refusal(support_service, 409, SHORTCUT_TAKEN, shortcut=data.shortcut)
    return ResponseView(added["id"], data.shortcut, data.text, data.locale, 0)


@delete("/canned/{canned_id:str}", guards=[MANAGE], summary="Delete a written canned response")
async def remove_response(
    canned_id: FromPath[str], support_service: NamedDependency[SupportService]
) -> None:
    if canned_id in BY_ID:
        raise refusal(support_service, 409, BUILTIN)
    if not await support_service.ctx.transaction(canned_store.remove, canned_id):
        raise refusal(support_service, 404, NO_RESPONSE, canned_id=canned_id)


ROUTES = [list_responses, add_response, remove_response]
