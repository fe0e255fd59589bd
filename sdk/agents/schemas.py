"""JSON schemas of an agent's input and output, as the API and MCP clients read them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from ..i18n import Localizer

TRANSLATED_KEYS = frozenset({"title", "description"})
LITERAL_KEYS = frozenset({"examples", "default", "enum", "const"})
"""Values that are data, not prose: left as they are."""


def schema_of(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON schema of a struct with the struct itself at the top (an object schema, as
    an MCP tool's `inputSchema` must be) and the structs it uses under `$defs`."""
    schema = msgspec.json.schema(kind)
    definitions = dict(schema.get("$defs", {}))
    name = schema.get("$ref", "").rpartition("/")[2]
    top = dict(definitions.pop(name, schema))
    if definitions:
        top["$defs"] = definitions
    return top


def translated(schema: Any, l10n: Localizer) -> Any:
    """A copy of `schema` with every `title` and `description` in `l10n`'s locale (field
    descriptions written as `msgspec.Meta(description=N_("…"))` are in the catalog)."""
    if isinstance(schema, dict):
        return {
            key: l10n.gettext(value)
            if key in TRANSLATED_KEYS and isinstance(value, str)
            else value
            if key in LITERAL_KEYS
            else translated(value, l10n)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [translated(item, l10n) for item in schema]
    return schema
