"""Lean endpoints in the OpenAPI document: the operations their plugins described
(`ctx.endpoint(..., openapi={"post": {...}})`), completed with what the kernel knows (the
plugin's tag, the path's parameters, a response when none is listed)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .endpoint_routes import Endpoint, EndpointPath, openapi_path

UNDOCUMENTED = frozenset({"HEAD", "OPTIONS"})
"""Methods left out of the document unless the plugin describes them (CORS preflights)."""


def endpoint_paths(served: Iterable[EndpointPath]) -> dict[str, dict[str, Any]]:
    """OpenAPI path items for `served`, by OpenAPI path."""
    paths: dict[str, dict[str, Any]] = {}
    for path in served:
        operations = {}
        for method, endpoint in sorted(path.by_method.items()):
            operation = _operation(endpoint, method, path)
            if operation is not None:
                operations[method.lower()] = operation
        if operations:
            paths.setdefault(openapi_path(path.template), {}).update(operations)
    return paths


def _operation(endpoint: Endpoint, method: str, path: EndpointPath) -> dict[str, Any] | None:
    if endpoint.openapi is None:
        if method in UNDOCUMENTED:
            return None
        doc = (endpoint.handler.__doc__ or "").strip().splitlines()
        operation: dict[str, Any] = {"summary": doc[0] if doc else f"{method} {path.template}"}
    else:
        described = {k.upper(): v for k, v in endpoint.openapi.items()}.get(method)
        if described is None:
            return None
        operation = copy.deepcopy(dict(described))
    operation.setdefault("tags", [path.plugin])
    operation.setdefault("responses", {"200": {"description": "OK"}})
    listed = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "path"}
    for name, converter in path.converters.items():
        if name not in listed:
            kind = "integer" if converter is int else "string"
            parameter = {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
            operation.setdefault("parameters", []).append(parameter)
    return operation
