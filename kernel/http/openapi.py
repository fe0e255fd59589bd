"""One OpenAPI document for the whole runtime, merged from the kernel's and each plugin's app,
and the lean endpoints plugins declared (`endpoint_openapi`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .endpoint_openapi import endpoint_paths

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("mindframe.http")


def merge_schemas(kernel_schema: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    """The kernel's schema plus every mounted plugin's paths, components and tag, and every
    plugin's lean endpoints."""
    merged = {**kernel_schema, "paths": dict(kernel_schema.get("paths", {}))}
    components = dict(kernel_schema.get("components", {}))
    schemas = dict(components.get("schemas", {}))
    tags = list(kernel_schema.get("tags", []))
    for name, mount in sorted(runtime.dispatcher.mounts.items()):
        if not mount.api or mount.openapi is None:
            continue
        plugin_schema = mount.openapi()
        merged["paths"].update(plugin_schema.get("paths", {}))
        for key, value in plugin_schema.get("components", {}).get("schemas", {}).items():
            if key in schemas and schemas[key] != value:
                log.warning(
                    "OpenAPI component %r of plugin %s differs from one already merged", key, name
                )
                continue
            schemas[key] = value
        tags.append(_tag(runtime, name))
    endpoints = runtime.dispatcher.endpoints
    for name in sorted({path.plugin for path in endpoints.paths.values()}):
        for path, operations in endpoint_paths(endpoints.of(name)).items():
            merged["paths"][path] = {**merged["paths"].get(path, {}), **operations}
        if all(tag["name"] != name for tag in tags):
            tags.append(_tag(runtime, name))
    if schemas:
        components["schemas"] = schemas
    merged["components"] = components
    merged["tags"] = tags
    return merged


def _tag(runtime: Runtime, name: str) -> dict[str, str]:
    record = runtime.records.get(name)
    description = record.manifest.description if record and record.manifest else ""
    return {"name": name, "description": description}
