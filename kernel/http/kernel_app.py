"""The kernel's own Litestar app: `/health`, the management API under `/api/kernel/`, the
merged OpenAPI schema under `/schema`, and the problem-details 404 for everything else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.params import FromPath, FromQuery

from ..bus.http import bus_router
from ..ordering import dependents_of
from .access import (
    AUTHENTICATOR_SERVICE,
    enforcing_authenticator,
    is_direct_loopback,
    may_see_errors,
)
from .json_body import JSONRequest
from .openapi import merge_schemas
from .problems import exception_handlers, problem_details_plugin
from .vendor import VENDOR_PREFIX, vendor_routers, vendor_url

if TYPE_CHECKING:
    from ..runtime import Runtime


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_ONLY = (
    "the management API answers loopback only until an auth plugin has a user: call it "
    "from this machine directly (not through a proxy), or create a user and sign in"
)
CONFIRM_SIGN_IN_OFF = "auth"
"""The `confirm` a disable needs when it would stop the plugin that signs users in."""
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


async def management_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Once an auth plugin has users, the management API needs `kernel.*` permissions;
    until then it answers a direct loopback client only, reads included (they show
    errors, tracebacks and file paths). The public paths answer everyone."""
    if connection.scope["path"].startswith(PUBLIC_PATHS):
        return
    authenticator = await enforcing_authenticator(connection.app.state.runtime.container)
    if authenticator is not None:
        await authenticator.authorize(connection, management_permission(connection))
    elif not is_direct_loopback(connection.scope):
        raise NotAuthorizedException(LOOPBACK_ONLY)


def _record_or_404(runtime: Runtime, name: str) -> Any:
    try:
        return runtime.plugin(name)
    except LookupError:
        raise NotFoundException(f"no plugin named {name!r}") from None


def without_errors(report: dict[str, Any]) -> dict[str, Any]:
    """`/health` for a client who may not read errors: every state and verdict, but no
    error texts (they carry file paths and internals) and no paths waiting for a restart."""
    plugins = {
        name: {key: value for key, value in entry.items() if key != "error"}
        for name, entry in report["plugins"].items()
    }
    redacted = {**report, "plugins": plugins}
    if "restart_needed" in redacted:
        redacted["restart_needed"] = True
    return redacted


@get("/health", tags=["kernel"], summary="Health of the runtime and each plugin")
async def health(request: Request, runtime: NamedDependency[Runtime]) -> dict[str, Any]:
    """Errors are shown to whoever may read the management API (see `access`)."""
    report = await runtime.health()
    return report if await may_see_errors(request, runtime.container) else without_errors(report)


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
async def disable_plugin(
    request: Request,
    runtime: NamedDependency[Runtime],
    name: FromPath[str],
    confirm: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """Stop the plugin, after stopping every plugin that requires it. Once users exist,
    stopping the plugin that signs them in needs `?confirm=auth` (409 without it)."""
    _record_or_404(runtime, name)
    await confirm_sign_in_off(request, runtime, name, confirm)
    stopped = await runtime.disable(name)
    return {"plugin": runtime.plugin(name).view(), "stopped": stopped}


async def confirm_sign_in_off(
    request: Request, runtime: Runtime, name: str, confirm: str | None
) -> None:
    """Disabling `name` when that stops the enforcing authenticator's plugin (itself or a
    requirement of it) locks every user out and hands the management API to loopback: it
    needs `confirm`, and goes to the audit log first (which stops with the plugin)."""
    registration = runtime.container.by_key(AUTHENTICATOR_SERVICE)
    authenticator = await enforcing_authenticator(runtime.container)
    if registration is None or authenticator is None:
        return
    provider = registration.owner
    if provider != name and provider not in dependents_of(name, runtime.manifests()):
        return
    if confirm != CONFIRM_SIGN_IN_OFF:
        also = "" if provider == name else f" (it stops '{provider}')"
        raise HTTPException(
            status_code=409,
            detail=f"disabling '{name}' turns sign-in off{also}: nobody could sign in and the "
            "management API would answer loopback only. To go ahead, repeat the request "
            f"with confirm={CONFIRM_SIGN_IN_OFF}",
            extra={"confirm": CONFIRM_SIGN_IN_OFF},
        )
    await authenticator.audit(request, "kernel.plugins.disable", plugin=name, stops=provider)


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
