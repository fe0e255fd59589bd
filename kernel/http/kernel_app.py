"""The kernel's own Litestar app: `/health`, the management API under `/api/kernel/`, the
merged OpenAPI schema under `/schema`, and the problem-details 404 for everything else."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.params import FromPath

from ..bus.http import bus_router
from .json_body import JSONRequest
from .openapi import merge_schemas
from .problems import exception_handlers, problem_details_plugin
from .vendor import VENDOR_PREFIX, vendor_routers, vendor_url

if TYPE_CHECKING:
    from ..runtime import Runtime


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def loopback_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Without an auth plugin, changing the runtime is allowed from this machine only."""
    if connection.scope.get("method") in SAFE_METHODS:
        return
    host = connection.client.host if connection.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host in {"localhost", "testclient"}
    if not local:
        raise NotAuthorizedException(
            "the management API accepts changes from loopback only until an auth plugin is active"
        )


AUTHENTICATOR_SERVICE = "authenticator"  # the key of `mindframe.sdk.auth.Authenticator`
PUBLIC_PATHS = ("/health", "/schema", VENDOR_PREFIX)


def management_permission(connection: ASGIConnection) -> str:
    """`kernel.plugins.read` for looking, `kernel.plugins.<action>` for enable, disable and
    reload, `kernel.bus.read` / `kernel.bus.manage` for the bus."""
    parts = connection.scope["path"].strip("/").split("/")  # api, kernel, area, ...
    area = parts[2] if len(parts) > 2 else "plugins"
    if connection.scope.get("method") in SAFE_METHODS:
        return f"kernel.{area}.read"
    if area == "plugins" and len(parts) > 4:
        return f"kernel.plugins.{parts[4]}"
    return f"kernel.{area}.manage"


async def management_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Once an auth plugin is configured, the management API needs `kernel.*` permissions;
    until then it accepts changes from loopback only."""
    registration = connection.app.state.runtime.container.by_key(AUTHENTICATOR_SERVICE)
    authenticator = registration.get() if registration is not None else None
    if authenticator is None or not await authenticator.enforcing():
        loopback_only(connection, handler)
    elif not connection.scope["path"].startswith(PUBLIC_PATHS):
        await authenticator.authorize(connection, management_permission(connection))


def _record_or_404(runtime: Runtime, name: str) -> Any:
    try:
        return runtime.plugin(name)
    except LookupError:
        raise NotFoundException(f"no plugin named {name!r}") from None


@get("/health", tags=["kernel"], summary="Health of the runtime and each plugin")
async def health(runtime: NamedDependency[Runtime]) -> dict[str, Any]:
    return await runtime.health()


@get(
    "/api/kernel/plugins", tags=["kernel"], summary="Every plugin with its state, version and error"
)
async def list_plugins(runtime: NamedDependency[Runtime]) -> list[dict[str, Any]]:
    return runtime.plugins_view()


@get("/api/kernel/plugins/{name:str}", tags=["kernel"], summary="One plugin")
async def show_plugin(runtime: NamedDependency[Runtime], name: FromPath[str]) -> dict[str, Any]:
    return _record_or_404(runtime, name).view()


@post(
    "/api/kernel/plugins/{name:str}/enable",
    tags=["kernel"],
    status_code=200,
)
async def enable_plugin(runtime: NamedDependency[Runtime], name: FromPath[str]) -> dict[str, Any]:
    """Start the plugin and the plugins it had held back."""
    _record_or_404(runtime, name)
    started = await runtime.enable(name)
    return {"plugin": runtime.plugin(name).view(), "started": started}


@post(
    "/api/kernel/plugins/{name:str}/disable",
    tags=["kernel"],
    status_code=200,
)
async def disable_plugin(runtime: NamedDependency[Runtime], name: FromPath[str]) -> dict[str, Any]:
    """Stop the plugin, after stopping every plugin that requires it."""
    _record_or_404(runtime, name)
    stopped = await runtime.disable(name)
    return {"plugin": runtime.plugin(name).view(), "stopped": stopped}


@post("/api/kernel/plugins/{name:str}/reload", tags=["kernel"], status_code=200)
async def reload_plugin(runtime: NamedDependency[Runtime], name: FromPath[str]) -> Response:
    """Replace the plugin's code with what is on disk now, without dropping requests or
    events; 409 with the error when the new code cannot start (the old keeps serving)."""
    _record_or_404(runtime, name)
    result = await runtime.reload(name)
    body = {**result.view(), "state": runtime.plugin(name).view()}
    return Response(body, status_code=200 if result.ok else 409)


def merging(render: type[OpenAPIRenderPlugin], **options: Any) -> OpenAPIRenderPlugin:
    """A render plugin that shows the merged schema of the kernel and every plugin app."""

    class Merged(render):  # type: ignore[valid-type,misc]
        def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
            state = request.app.state
            if state.get("merged_schema") is None:
                state.merged_schema = merge_schemas(openapi_schema, state.runtime)
            return super().render(request, state.merged_schema)

    return Merged(**options)


SWAGGER_ASSETS = {
    "js_url": vendor_url("swagger-ui-dist", "swagger-ui-bundle.js"),
    "css_url": vendor_url("swagger-ui-dist", "swagger-ui.css"),
    "standalone_preset_js_url": vendor_url("swagger-ui-dist", "swagger-ui-standalone-preset.js"),
    "favicon": '<link rel="icon" type="image/png" href="{}">'.format(
        vendor_url("swagger-ui-dist", "favicon-32x32.png")
    ),
}
"""The docs page's scripts and styles, served by this server (`kernel/http/vendor.py`)."""


def build_kernel_app(runtime: Runtime) -> Litestar:
    from ..runtime import Runtime

    app = Litestar(
        route_handlers=[
            health,
            list_plugins,
            show_plugin,
            enable_plugin,
            disable_plugin,
            reload_plugin,
            bus_router(lambda: runtime.bus),
            *vendor_routers(),
        ],
        guards=[management_guard],
        dependencies={"runtime": Provide(lambda: runtime, sync_to_thread=False)},
        plugins=[problem_details_plugin()],
        exception_handlers=exception_handlers(runtime.report_error, "kernel"),
        request_class=JSONRequest,
        openapi_config=OpenAPIConfig(
            title="Mindframe",
            version="0.1.0",
            path="/schema",
            render_plugins=[
                merging(SwaggerRenderPlugin, **SWAGGER_ASSETS),
                merging(JsonRenderPlugin),
            ],
        ),
        signature_namespace={"Runtime": Runtime},
        logging_config=None,
    )
    app.state.runtime = runtime
    app.state.merged_schema = None
    return app
