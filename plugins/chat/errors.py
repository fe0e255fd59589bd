"""Every refusal the plugin gives, marked for the catalogs, and the error that carries one.

The same refusal is a problem-details response over HTTP and an error frame on a socket,
in the locale of whoever asked."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext
from mindframe.sdk.chat import ChatError
from mindframe.sdk.i18n import N_

BAD_FRAME = N_("this frame is not a JSON object with a known type: {error}")
HELLO_FIRST = N_("say hello first: a visitor sends its visitor token in a hello frame")
UNKNOWN_VISITOR = N_("this visitor token is unknown; get one from POST /api/chat/visitors")
NO_SUCH_CONVERSATION = N_("there is no conversation {id} that you may see")
CLOSED = N_("this conversation is closed; start a new one")
EMPTY_TEXT = N_("a message needs some text")
TEXT_TOO_LONG = N_("a message may be at most {limit} characters long")
BAD_CLIENT_ID = N_("client_id must be 1 to 64 characters")
AGENTS_ONLY = N_("only agents may do this (it needs the permission chat.agent)")
SIGN_IN = N_("sign in as an agent, or send a visitor token in the X-Visitor-Token header")
FILE_TOO_LARGE = N_("an attachment may be at most {limit} bytes")
NO_FILE = N_("send the file as the multipart field 'file'")
NO_SUCH_ATTACHMENT = N_("there is no such attachment")


def refusal(ctx: PluginContext, status: int, message: str, **values: Any) -> ChatError:
    """A `ChatError` saying `message` in the current request's or socket's locale."""
    error = ChatError(ctx.gettext(message).format(**values) if values else ctx.gettext(message))
    error.status = status
    return error
