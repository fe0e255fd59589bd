"""HTTP for customers: rating a resolved ticket through the link they were sent,
`POST /api/support/csat/{token}`; no sign-in, the token is the key."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from mindframe.sdk.i18n import N_

from .csat import Csat
from .service import SupportService
from .views import refusal

NO_RATING_LINK = N_("this rating link is not known")
NOT_RESOLVED = N_("this ticket is open again: rate it once it is resolved")
ALREADY_RATED = N_("this ticket has been rated already; thank you")


class Rating(msgspec.Struct, forbid_unknown_fields=True):
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=2_000)] | None = None


class Rated(msgspec.Struct):
    ticket_id: int
    score: int


@post("/csat/{token:str}", summary="Rate a resolved ticket 1-5, with a comment if you like")
async def rate_ticket(
    token: FromPath[str],
    data: JSONBody[Rating],
    support_csat: NamedDependency[Csat],
    support_service: NamedDependency[SupportService],
) -> Rated:
    result, ticket = await support_csat.rate(token, data.score, data.comment)
    if result == "unknown":
        raise refusal(support_service, 404, NO_RATING_LINK)
    if result == "not_resolved":
        raise refusal(support_service, 409, NOT_RESOLVED)
    if result == "already":
        raise refusal(support_service, 409, ALREADY_RATED)
    return Rated(ticket["id"], data.score)


ROUTES = [rate_ticket]
