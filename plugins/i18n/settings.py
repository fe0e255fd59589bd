"""What can be set in `[i18n]` of mindframe.toml (or MINDFRAME_I18N__DEFAULT_LOCALE)."""

from pydantic import field_validator

from mindframe.sdk import PluginSettings
from mindframe.sdk.i18n import LOCALES


class I18nSettings(PluginSettings):
    default_locale: str

    @field_validator("default_locale")
    @classmethod
    def _one_of_ours(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"one of {', '.join(LOCALES)}")
        return value
