"""One OpenAPI document for the whole runtime, merged from the kernel's and each plugin's app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("mindframe.http")


def merge_schemas(kernel_schema: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    """The kernel's schema plus every mounted plugin's paths, components and tag."""
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
        record = runtime.records.get(name)
        description = record.manifest.description if record and record.manifest else ""
        tags.append({"name": name, "description": description})
    if schemas:
        components["schemas"] = schemas
    merged["components"] = components
    merged["tags"] = tags
    return merged
