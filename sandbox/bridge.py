"""What a sandboxed plugin asks of the kernel, answered in the parent under its permissions.

Operations: `subscribe` / `unsubscribe` (the parent subscribes on the plugin's behalf with
`ctx.subscribe` and forwards deliveries to whichever child is current), `publish`,
`request` and `service` (a method call on a kernel service). Each refusal is logged,
audited and returned to the child as a `PermissionDenied` naming the manifest field.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from mindframe.kernel.bus import Envelope, Event, Subscription

from .events import to_event, to_wire
from .permissions import (
    AuditRecord,
    PermissionDenied,
    check_publish,
    check_service,
    check_subscribe,
)

if TYPE_CHECKING:
    from .proxy import SandboxProxy

log = logging.getLogger("mindframe.sandbox")
SUBSCRIBE_OPTIONS = {
    "queue_size",
    "concurrency",
    "max_retries",
    "durable",
    "retry_delay",
    "max_retry_delay",
}
PUBLISH_OPTIONS = {"durable", "priority", "headers"}
DELIVERY_WAIT = 5.0
"""How long a delivery waits for a restarting child before failing (the bus retries)."""
_envelope_encoder = msgspec.json.Encoder()


class Bridge:
    """The kernel side of a sandboxed plugin's calls."""

    def __init__(self, proxy: SandboxProxy) -> None:
        self.proxy = proxy
        self.subscriptions: dict[str, Subscription] = {}

    @property
    def permissions(self) -> Any:
        return self.proxy.manifest.permissions

    def refuse(self, action: str, target: str, error: PermissionDenied) -> None:
        record = AuditRecord(self.proxy.name, action, target, allowed=False, message=str(error))
        self.proxy.audit(record)

    async def perform(self, op: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"unknown operation {op!r}")
        return await handler(**args)

    # --- bus -------------------------------------------------------------------------------

    async def op_subscribe(self, pattern: str, name: str, options: dict[str, Any]) -> str:
        try:
            check_subscribe(self.proxy.name, self.permissions.subscribe, pattern)
        except PermissionDenied as error:
            self.refuse("subscribe", pattern, error)
            raise
        existing = self.subscriptions.get(name)
        if existing is not None and existing.pattern == pattern and not existing.retired:
            return name  # a restarted child asking again: the subscription never went away
        ctx = self.proxy.ctx
        assert ctx is not None
        unknown = set(options) - SUBSCRIBE_OPTIONS
        if unknown:
            raise ValueError(f"subscription options not supported in a sandbox: {sorted(unknown)}")
        self.subscriptions[name] = ctx.subscribe(
            pattern, self._forwarder(name), name=name, **options
        )
        return name

    async def op_unsubscribe(self, name: str) -> None:
        subscription = self.subscriptions.pop(name, None)
        if subscription is not None:
            await subscription.cancel()

    def _forwarder(self, name: str) -> Any:
        supervisor = self.proxy.supervisor

        async def deliver(event: Event, envelope: Envelope) -> Any:
            assert supervisor is not None
            child = await supervisor.wait_ready(DELIVERY_WAIT)
            topic, payload = to_wire(event)
            return await child.call(
                "deliver",
                name=name,
                topic=topic,
                payload=payload,
                envelope=_envelope_encoder.encode(envelope),
            )

        deliver.__qualname__ = f"sandbox:{self.proxy.name}:{name}"
        return deliver

    def _event(self, topic: str, payload: bytes) -> Event:
        try:
            check_publish(self.proxy.name, self.permissions.publish, topic)
        except PermissionDenied as error:
            self.refuse("publish", topic, error)
            raise
        return to_event(topic, payload)

    async def op_publish(self, topic: str, payload: bytes, options: dict[str, Any]) -> str:
        event = self._event(topic, payload)
        ctx = self.proxy.ctx
        assert ctx is not None
        return await ctx.publish(
            event, **{k: v for k, v in options.items() if k in PUBLISH_OPTIONS}
        )

    async def op_request(
        self, topic: str, payload: bytes, timeout: float, options: dict[str, Any]
    ) -> Any:
        event = self._event(topic, payload)
        ctx = self.proxy.ctx
        assert ctx is not None
        allowed = {k: v for k, v in options.items() if k in {"priority", "headers"}}
        return msgspec.to_builtins(await ctx.bus.request(event, timeout=timeout, **allowed))

    # --- services --------------------------------------------------------------------------

    async def op_service(
        self, key: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        registration = self._registration(key)
        type_name = registration.service_type.__name__ if registration is not None else None
        try:
            check_service(self.proxy.name, self.permissions.services, key, type_name)
        except PermissionDenied as error:
            self.refuse("service", key, error)
            raise
        if registration is None:
            raise LookupError(f"no service {key!r} is provided")
        if method.startswith("_"):
            raise AttributeError(f"service {key!r}: private method {method!r} cannot be called")
        function = getattr(registration.get(), method)
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return msgspec.to_builtins(result)

    def _registration(self, key: str) -> Any:
        """The kernel's registration of service `key` (or None): the child names services
        by key."""
        ctx = self.proxy.ctx
        assert ctx is not None
        return ctx.registration(key)
