"""Catalog upkeep for tools: the messages a plugin's code marks, its `.po` catalogs brought
in line with them (`update_catalogs`, which never guesses a translation), and what keeps
them from being complete (`catalog_problems`). `mindframe i18n` and `mindframe check` both
use these."""

from mindframe.kernel.catalogs import (
    CatalogProblem,
    Domain,
    catalog_problems,
    extract_messages,
    read_catalog,
    update_catalogs,
)

__all__ = [
    "CatalogProblem",
    "Domain",
    "catalog_problems",
    "extract_messages",
    "read_catalog",
    "update_catalogs",
]
