"""Events crossing the process boundary as (topic, JSON payload).

Each side decodes into its own registered class for the topic. When a side has no class
for a topic (the parent never imports a sandboxed plugin's code), it registers a
*stand-in*: an Event subclass with the payload's keys as `Any` fields, so the bus can
validate, route and log it unchanged. A real class registered later replaces the stand-in.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mindframe.kernel.bus import Event
from mindframe.kernel.bus.events import decode, encode, registered_topics

_json = msgspec.json.Decoder(dict[str, Any])


class StandIn(Event):
    """Base of the classes made for topics this process has no class for."""


def _stand_in(topic: str, keys: list[str]) -> type[Event]:
    name = "StandIn_" + topic.replace(".", "_").replace("-", "_")
    return msgspec.defstruct(
        name,
        [(key, Any, None) for key in keys],
        bases=(StandIn,),
        namespace={"topic": topic, "__module__": __name__},
        kw_only=True,
    )


def to_event(topic: str, payload: bytes) -> Event:
    """The payload as an instance of this process's class for `topic` (made if missing)."""
    cls = registered_topics().get(topic)
    if cls is None or issubclass(cls, StandIn):
        keys = list(_json.decode(payload))
        if cls is None or not set(keys) <= set(cls.__struct_fields__):
            known = list(cls.__struct_fields__) if cls is not None else []
            cls = _stand_in(topic, [*known, *(k for k in keys if k not in known)])
    return decode(topic, payload)


def to_wire(event: Event) -> tuple[str, bytes]:
    return type(event).topic, encode(event)
