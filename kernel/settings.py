"""Settings: `mindframe.toml`, then `MINDFRAME_…` environment variables, then validation.

Kernel keys sit at the top level (`database_url`, `data_dir`, ...; `MINDFRAME_DATABASE_URL`).
Each plugin has its own table (`[mail]`; `MINDFRAME_MAIL__SMTP_PORT=2525`), layered over
the defaults in its manifest and validated by the model the plugin declares.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .manifest import describe_validation_error

ENV_PREFIX = "MINDFRAME_"
CONFIG_ENV = "MINDFRAME_CONFIG"


class SettingsError(ValueError):
    """A setting of the wrong type or shape; says which section, key and what was expected."""


class PluginSettings(BaseModel):
    """Base for a plugin's settings model: unknown keys are refused, so typos are caught."""

    model_config = ConfigDict(extra="forbid")


class KernelSettings(BaseModel):
    """The kernel's own settings: the top-level keys of `mindframe.toml`."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path(".mindframe")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; SQLite in data_dir when unset"
    )
    bus_url: str | None = Field(
        default=None, description="nats://… for JetStream; in-memory when unset"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    plugins_dirs: list[Path] = Field(default_factory=list)
    builtin_plugins: bool = Field(
        default=True, description="load the plugins shipped with Mindframe"
    )
    disabled: list[str] = Field(default_factory=list, description="plugins not to start")
    hook_timeout: float = Field(default=10.0, gt=0)
    reload: bool = Field(default=False, description="watch plugin folders and hot-reload changes")
    log_level: str = "INFO"
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For names the client; when empty the connecting peer is the client. "
        "A proxy on this machine must be listed, or every client it forwards looks local",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or network (such as 10.0.0.0/8)"
                ) from None
        return proxies

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'mindframe.db'}"


class Settings:
    """Raw layered settings, before any plugin's model has looked at its section."""

    def __init__(
        self,
        kernel: KernelSettings,
        sections: dict[str, dict[str, Any]],
        env_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.kernel = kernel
        self.sections = sections
        self.env_keys = dict(env_keys or {})
        """`section.key` (or a kernel `key`) → the environment variable that set it, so an
        error names the variable to fix rather than a file."""

    def plugin_section(
        self, plugin: str, defaults: Mapping[str, Any], model: type[BaseModel] | None
    ) -> Any:
        """The plugin's validated settings: a model instance, or a dict without a model."""
        merged = {**defaults, **self.sections.get(plugin.replace("-", "_"), {})}
        if model is None:
            return merged
        try:
            return model.model_validate(merged)
        except ValidationError as error:
            section = plugin.replace("-", "_")
            sources = {
                key.split(".", 1)[1]: f"environment variable {variable}"
                for key, variable in self.env_keys.items()
                if key.startswith(f"{section}.")
            }
            problems = describe_validation_error(error, noun="key", sources=sources)
            raise SettingsError(f"settings of plugin '{plugin}': " + "; ".join(problems)) from None


def _env_value(raw: str) -> Any:
    """Environment values are strings; JSON lists and objects are decoded, the rest is left
    for the settings model to coerce (so `"2525"` becomes an int where an int is expected)."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def environment_layer(
    environ: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """The kernel keys and plugin sections set by `MINDFRAME_…` variables, and which
    variable set each (`mail.smtp_port` → `MINDFRAME_MAIL__SMTP_PORT`)."""
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    variables: dict[str, str] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_ENV:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if "__" in name:
            section, field = name.split("__", 1)
            sections.setdefault(section, {})[field] = _env_value(raw)
            variables[f"{section}.{field}"] = key
        else:
            top[name] = _env_value(raw)
            variables[name] = key
    return top, sections, variables


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Layer the config file, the environment and explicit overrides (CLI flags), in that order."""
    environ = os.environ if environ is None else environ
    if config is None and environ.get(CONFIG_ENV):
        config = Path(environ[CONFIG_ENV])
    if config is None and Path("mindframe.toml").is_file():
        config = Path("mindframe.toml")
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"{config}: the settings file does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{config}: not valid TOML: {error}") from None
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    sections = {k.replace("-", "_"): dict(v) for k, v in data.items() if isinstance(v, dict)}
    env_top, env_sections, env_keys = environment_layer(environ)
    top.update(env_top)
    for section, values in env_sections.items():
        sections.setdefault(section, {}).update(values)
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    top.update(flags)
    try:
        kernel = KernelSettings.model_validate(top)
    except ValidationError as error:
        where = f"{config}" if config else "kernel settings"
        sources = {k: f"environment variable {v}" for k, v in env_keys.items() if "." not in k}
        sources.update({k: "the command line" for k in flags})
        problems = describe_validation_error(error, "key", sources=sources)
        raise SettingsError(f"{where}: " + "; ".join(problems)) from None
    return Settings(kernel, sections, env_keys)
