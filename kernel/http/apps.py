"""Each plugin's routes become a small Litestar app of its own.

Swapping a plugin's HTTP surface on reload is then one reference change in the
dispatcher, and requests already inside the old app finish there undisturbed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from ..container import Container
from .problems import ErrorReporter, problem_details_plugin, unhandled_error_handler


def service_dependencies(container: Container) -> dict[str, Provide]:
    """One Litestar dependency per service key, looked up when a request needs it, so a
    service whose plugin was reloaded is found anew without rebuilding the app."""

    def provider(key: str) -> Callable[[], Any]:
        def resolve() -> Any:
            registration = container.by_key(key)
            if registration is None:
                raise LookupError(f"service {key!r} is no longer provided")
            return registration.get()

        return resolve

    return {
        registration.key: Provide(provider(registration.key), sync_to_thread=False)
        for registration in container.registrations()
    }


def build_app(
    *,
    name: str,
    title: str,
    version: str,
    routes: Sequence[Any],
    pages: Sequence[Any] = (),
    api_prefix: str,
    page_prefix: str | None,
    dependencies: dict[str, Provide],
    report: ErrorReporter,
    debug: bool = False,
) -> Litestar:
    """A Litestar app serving `routes` under `api_prefix` and `pages` under `page_prefix`."""
    routers = []
    if routes:
        routers.append(Router(path=api_prefix, route_handlers=list(routes), tags=[name]))
    if pages and page_prefix:
        routers.append(
            Router(path=page_prefix, route_handlers=list(pages), include_in_schema=False)
        )
    return Litestar(
        route_handlers=routers,
        dependencies=dependencies,
        plugins=[problem_details_plugin()],
        exception_handlers={Exception: unhandled_error_handler(report, name)},
        openapi_config=OpenAPIConfig(
            title=title, version=version, render_plugins=[JsonRenderPlugin()]
        ),
        logging_config=None,
        debug=debug,
    )


def count_routes(app: Litestar) -> int:
    """Routes the plugin itself contributed (the OpenAPI ones Litestar adds are not counted)."""
    return sum(1 for route in app.routes if not route.path.startswith("/schema"))
