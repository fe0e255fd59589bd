"""The sandboxed plugin's own Litestar app, built in the child like the kernel builds one
in-process (same prefixes, same problem details), plus one rule: a `MemoryError` in a
handler is not a 500 but the end of the child, so the parent sees the limit was hit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Response, Router

from mindframe.kernel.http.apps import build_app, parameter_names, service_dependencies

if TYPE_CHECKING:
    from .child import Child


def build_child_app(
    name: str, version: str, routes: list[Any], pages: list[Any], child: Child
) -> Litestar:
    ctx = child.ctx

    def report(error: BaseException, context: dict[str, Any]) -> None:
        child.report_error(error, context)

    def out_of_memory(request: Request, error: MemoryError) -> Response:
        child.die(error)
        raise error  # not reached: die() exits

    def guarded(handlers: list[Any]) -> list[Any]:
        if not handlers:
            return []
        return [
            Router(
                path="/", route_handlers=handlers, exception_handlers={MemoryError: out_of_memory}
            )
        ]

    return build_app(
        name=name,
        title=f"{name} plugin (sandboxed)",
        version=version,
        routes=guarded(routes),
        pages=guarded(pages),
        api_prefix=f"/api/{name}",
        page_prefix=f"/{name}",
        dependencies=service_dependencies(ctx.container, parameter_names([*routes, *pages])),
        report=report,
        with_openapi=True,  # built once per child; its paths go to the kernel's document
    )
