"""Where a plugin keeps its gettext catalogs: the locales Mindframe ships, the file layout
(Babel's), and the declaration the kernel makes as a plugin starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LOCALES: tuple[str, ...] = ("nb", "sv", "da", "fi", "de", "en_US", "en_GB")
"""Every locale Mindframe ships catalogs for, in Babel's spelling."""
CATALOG_DOMAIN = "messages"


def catalog_path(locales_folder: Path, locale: str) -> Path:
    """Where the `.po` source catalog for `locale` lives under a `locales/` folder."""
    return locales_folder / locale / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po"


@dataclass(frozen=True, slots=True)
class PluginCatalogs:
    """Where one plugin keeps its catalogs: declared by the kernel as the plugin starts (a
    service named `catalogs_key(plugin)`) and withdrawn when it unloads, so whoever
    translates that plugin's messages finds them from its start."""

    plugin: str
    folders: tuple[Path, ...]


def catalogs_key(plugin: str) -> str:
    """The service key under which `plugin`'s `PluginCatalogs` are declared."""
    return f"catalogs.{plugin}"
