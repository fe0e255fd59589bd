"""Each plugin's routes become a small Litestar app of its own.

Swapping a plugin's HTTP surface on reload is then one reference change in the
dispatcher, and requests already inside the old app finish there undisturbed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from litestar import Controller, Litestar, Router
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from ..container import Container
from .current_request import remember_request
from .json_body import JSONRequest
from .problems import ErrorReporter, exception_handlers, problem_details_plugin


def parameter_names(handlers: Iterable[Any]) -> set[str]:
    """Every parameter name the handlers (and their own dependencies) ask for: the service
    keys a plugin app needs. Handing an app only those keeps building it cheap, since
    Litestar checks each handler's dependencies pairwise."""
    names: set[str] = set()
    stack = list(handlers)
    while stack:
        item = stack.pop()
        if isinstance(item, BaseRouteHandler):
            names.update(_parameters(item.fn))
            stack.extend((item.dependencies or {}).values())
        elif isinstance(item, Provide):
            names.update(_parameters(item.dependency))
        elif isinstance(item, type) and issubclass(item, Controller):
            stack.extend(v for v in vars(item).values() if isinstance(v, BaseRouteHandler))
            stack.extend((item.dependencies or {}).values())
        elif isinstance(item, Router):
            stack.extend(h for route in item.routes for h in route.route_handlers)
            stack.extend((item.dependencies or {}).values())
    return names


def _parameters(function: Any) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def service_dependencies(container: Container, wanted: set[str]) -> dict[str, Provide]:
    """A Litestar dependency for each wanted service key, looked up when a request needs
    it, so a service whose plugin was reloaded is found anew without rebuilding the app."""

    def provider(key: str) -> Callable[[], Any]:
        def resolve() -> Any:
            registration = container.by_key(key)
            if registration is None:
                raise LookupError(f"service {key!r} is no longer provided")
            return registration.get()

        return resolve

    return {
        key: Provide(provider(key), sync_to_thread=False)
        for key in wanted
        if container.by_key(key) is not None
    }


class OneAppRouter(Router):
    """A router made for one app and used by no other. Litestar deep-copies every router
    an app registers, so that one router may serve several apps; the kernel makes a new
    one for each app it builds, so the copy (a third of building a plugin's app, paid at
    every boot and reload) would only be thrown away. The handlers inside are still
    Litestar's own copies of the plugin's, as they are for an app given handlers directly."""

    def __deepcopy__(self, memo: dict[int, Any]) -> OneAppRouter:
        return self


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
    with_openapi: bool = False,
    debug: bool = False,
) -> Litestar:
    """A Litestar app serving `routes` under `api_prefix` and `pages` under `page_prefix`.

    The app that serves is built without OpenAPI (two thirds of its build time, paid on
    every reload); the schema comes from a twin built `with_openapi` when `/schema` is
    first asked for after a change."""
    routers = []
    if routes:
        routers.append(OneAppRouter(path=api_prefix, route_handlers=list(routes), tags=[name]))
    if pages and page_prefix:
        routers.append(
            OneAppRouter(path=page_prefix, route_handlers=list(pages), include_in_schema=False)
        )
    return Litestar(
        route_handlers=routers,
        dependencies=dependencies,
        plugins=[problem_details_plugin()],
        middleware=[remember_request],  # ctx.gettext answers in the request's locale
        exception_handlers=exception_handlers(report, name),
        request_class=JSONRequest,
        openapi_config=(
            OpenAPIConfig(title=title, version=version, render_plugins=[JsonRenderPlugin()])
            if with_openapi
            else None
        ),
        logging_config=None,
        debug=debug,
    )


def count_routes(app: Litestar) -> int:
    return len(app.routes)
