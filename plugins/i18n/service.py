"""`I18nService`: the `Translations` service. Catalogs are loaded on first use and dropped
when their plugin unloads; the kernel's own catalog (`locales/`) is every plugin's fallback."""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from pathlib import Path

from mindframe.sdk import PluginContext
from mindframe.sdk.i18n import KERNEL_CATALOG, LOCALES, Localizer, Translations

from .catalogs import load_locale


class I18nService(Translations):
    def __init__(self, default_locale: str, kernel_locales: Path | None) -> None:
        self.default_locale = default_locale
        self._folders: dict[str, list[Path]] = {}
        if kernel_locales is not None and kernel_locales.is_dir():
            self._folders[KERNEL_CATALOG] = [kernel_locales]
        self._loaded: dict[tuple[str, str], Localizer] = {}
        self._registered: dict[str, PluginContext] = {}

    def localizer(self, plugin: str, locale: str | None = None) -> Localizer:
        locale = locale if locale in LOCALES else self.default_locale
        key = (plugin, locale)
        if key not in self._loaded:
            catalog = load_locale(self._folders.get(plugin, []), locale)
            fallback = None
            if plugin != KERNEL_CATALOG:
                fallback = load_locale(self._folders.get(KERNEL_CATALOG, []), locale)
            if catalog is None:
                catalog = fallback
            elif fallback is not None:
                catalog.add_fallback(fallback)
            self._loaded[key] = Localizer(locale, catalog or gettext.NullTranslations())
        return self._loaded[key]

    def register(self, ctx: PluginContext, extra_folders: Iterable[Path] = ()) -> None:
        folders = [*([ctx.folder / "locales"] if ctx.folder else []), *map(Path, extra_folders)]
        if self._registered.get(ctx.name) is ctx and self._folders.get(ctx.name) == folders:
            return
        self.add_folders(ctx.name, folders)
        ctx.translator = self.localizer(ctx.name).catalog
        if self._registered.get(ctx.name) is not ctx:
            ctx.on_unload(lambda: self.forget(ctx.name), "i18n catalogs")
        self._registered[ctx.name] = ctx

    def add_folders(self, plugin: str, folders: Iterable[Path]) -> None:
        self._folders[plugin] = [Path(f) for f in folders]
        self.forget(plugin, keep_folders=True)

    def forget(self, plugin: str, *, keep_folders: bool = False) -> None:
        """Drop `plugin`'s compiled catalogs, so they are read again on next use."""
        if not keep_folders:
            self._folders.pop(plugin, None)
            self._registered.pop(plugin, None)
        for key in [k for k in self._loaded if k[0] == plugin]:
            del self._loaded[key]
