"""The dependency-injection container: services by type and optional name, with owners.

Plugins reach it through `ctx.provide` / `ctx.resolve`; Litestar handlers reach the same
services by parameter name through Litestar's own `Provide` (see `dependency_key`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypeVar, cast

T = TypeVar("T")
Lifetime = Literal["singleton", "request"]
_UNSET: Any = object()


class ServiceError(LookupError):
    """A service that is missing, or provided twice."""


def dependency_key(service_type: type, name: str | None = None) -> str:
    """The Litestar parameter name a service is injected as: its name, else the snake-case
    type name (`GreetingService` -> `greeting_service`)."""
    if name:
        return name
    return _snake_case(service_type.__name__)


@lru_cache(maxsize=1024)
def _snake_case(type_name: str) -> str:
    """Remembered: guards look a service up by its type on every request."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", type_name).lower()


@dataclass(slots=True)
class Registration:
    service_type: type
    name: str | None
    owner: str
    lifetime: Lifetime
    factory: Callable[[], Any] | None = None
    instance: Any = field(default=_UNSET)

    def get(self) -> Any:
        if self.lifetime == "request":
            assert self.factory is not None
            return self.factory()
        if self.instance is _UNSET:
            assert self.factory is not None
            self.instance = self.factory()
        return self.instance

    @property
    def key(self) -> str:
        return dependency_key(self.service_type, self.name)


def type_key(service_type: type) -> str:
    """What a service type is known by: its module and qualified name, not the class object,
    so a class imported before its plugin was reloaded (by a consumer, or by a test module
    at collection) still finds the service the new code provides."""
    return f"{service_type.__module__}.{service_type.__qualname__}"


class Container:
    """Services keyed by (type, name); each registration remembers the plugin that made it."""

    def __init__(self) -> None:
        self._registrations: dict[tuple[str, str | None], Registration] = {}
        self._by_key: dict[str, Registration] = {}

    def provide(
        self,
        service_type: type[T],
        provider: T | Callable[[], T],
        *,
        owner: str,
        name: str | None = None,
        lifetime: Lifetime = "singleton",
    ) -> Registration:
        """Register an instance, or a zero-argument factory (called once for a singleton,
        once per resolution for the `request` lifetime)."""
        key = (type_key(service_type), name)
        if key in self._registrations:
            held = self._registrations[key]
            raise ServiceError(
                f"service {_describe(service_type, name)} is already provided by plugin "
                f"'{held.owner}'; give yours a name= to offer a second one"
            )
        clash = self._by_key.get(dependency_key(service_type, name))
        if clash is not None:
            raise ServiceError(
                f"service {_describe(service_type, name)} would be injected as "
                f"{clash.key!r}, which plugin '{clash.owner}' already uses for "
                f"{_describe(clash.service_type, clash.name)}; give yours a name="
            )
        is_instance = isinstance(provider, service_type)
        if lifetime == "request" and is_instance:
            raise ServiceError(
                f"service {_describe(service_type, name)} has lifetime 'request' but was "
                "given an instance; pass a factory that makes one per request"
            )
        if not is_instance and not callable(provider):
            raise ServiceError(
                f"service {_describe(service_type, name)}: expected an instance of "
                f"{service_type.__name__} or a factory, got {type(provider).__name__}"
            )
        registration = Registration(service_type, name, owner, lifetime)
        if is_instance:
            registration.instance = provider
        else:
            registration.factory = cast(Callable[[], Any], provider)
        self._registrations[key] = registration
        self._by_key[registration.key] = registration
        return registration

    def remove(self, registration: Registration) -> None:
        key = (type_key(registration.service_type), registration.name)
        if self._registrations.get(key) is registration:
            del self._registrations[key]
            del self._by_key[registration.key]

    def resolve(self, service_type: type[T], name: str | None = None) -> T:
        registration = self._registrations.get((type_key(service_type), name))
        if registration is None:
            provided = (_describe(r.service_type, r.name) for r in self._registrations.values())
            known = ", ".join(sorted(provided)) or "none"
            raise ServiceError(
                f"no service {_describe(service_type, name)} is provided (provided: {known}); "
                "is the plugin that provides it in your manifest's `requires`?"
            )
        return cast(T, registration.get())

    def by_key(self, key: str) -> Registration | None:
        return self._by_key.get(key)

    def registrations(self, owner: str | None = None) -> list[Registration]:
        return [r for r in self._registrations.values() if owner is None or r.owner == owner]


def _describe(service_type: type, name: str | None) -> str:
    return f"{service_type.__qualname__}" + (f" named {name!r}" if name else "")
