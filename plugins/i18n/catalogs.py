"""Reading `.po` source catalogs into gettext objects, compiled in memory, so no `.mo` file
is ever written or committed."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations as BabelTranslations

from mindframe.sdk.i18n import catalog_path


def compile_po(path: Path, locale: str) -> BabelTranslations:
    """One `.po` file as a gettext catalog (fuzzy entries are left out, as msgfmt does)."""
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return BabelTranslations(compiled)


def load_locale(folders: Iterable[Path], locale: str) -> BabelTranslations | None:
    """`locale`'s catalogs from each folder merged, the first folder winning."""
    merged: BabelTranslations | None = None
    for folder in folders:
        path = catalog_path(folder, locale)
        if not path.is_file():
            continue
        translations = compile_po(path, locale)
        if merged is None:
            merged = translations
        else:
            merged.add_fallback(translations)
    return merged
