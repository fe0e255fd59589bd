"""What the API answers: tickets and the rest as typed structs (moments as ISO 8601), and
refusals as problem details in the request's language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.exceptions import HTTPException

from .service import SupportService


class TicketView(msgspec.Struct):
    id: int
    conversation_id: str
    channel: str
    subject: str | None
    status: str
    priority: str
    labels: list[str]
    team_id: int | None
    assignee_id: str | None
    customer_email: str | None
    customer_name: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    first_responder_id: str | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    closed_at: datetime | None


def moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def ticket_view(row: dict[str, Any]) -> TicketView:
    values = {field: row.get(field) for field in TicketView.__struct_fields__}
    for field, value in values.items():
        if field.endswith(("_at", "_due")) and not isinstance(value, datetime):
            values[field] = moment(value)
    values["labels"] = list(row.get("labels") or [])
    return TicketView(**values)


def refusal(service: SupportService, status: int, message: str, **params: Any) -> HTTPException:
    """An HTTP error whose detail is `message` (marked with `N_`) in the request's language."""
    detail = service.ctx.gettext(message).format(**params)
    return HTTPException(status_code=status, detail=detail, extra=params or None)
