"""The plugin manifest (`plugin.toml`): what a plugin declares about itself, validated.

Every error names the file, the field and what was expected, because the person reading
it is a plugin author who just saved a file and wants to know which line to fix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class ManifestError(Exception):
    """A manifest that cannot be read or does not validate; the message says where and why."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class Permissions(BaseModel):
    """What a plugin may touch. Enforced for `isolation = "process"` plugins by the sandbox."""

    model_config = ConfigDict(extra="forbid")

    publish: list[str] = Field(default_factory=list, description="topic patterns it may publish")
    subscribe: list[str] = Field(default_factory=list, description="topic patterns it may hear")
    services: list[str] = Field(default_factory=list, description="kernel services it may call")
    network: bool = Field(default=False, description="whether it may open network connections")


class Manifest(BaseModel):
    """The validated contents of a `plugin.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    description: str = ""
    requires: list[str] = Field(default_factory=list)
    permissions: Permissions = Field(default_factory=Permissions)
    isolation: Literal["inprocess", "process"] = "inprocess"
    startup_timeout: float = Field(default=10.0, gt=0, le=600)
    python_requires: list[str] = Field(
        default_factory=list,
        description="Python packages the plugin needs (PEP 508, e.g. 'scikit-learn>=1.4'); "
        "when one is missing the plugin fails alone, saying how to install it",
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    commands: dict[str, str] = Field(
        default_factory=dict,
        description="command-line commands its `register_cli` adds, each with a line of help, "
        "so `mindframe --help` lists them without importing the plugin",
    )

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "a lowercase name of letters, digits, '-' or '_' starting with a letter "
                f"(at most 63 characters), got {value!r}"
            )
        return value

    @field_validator("version")
    @classmethod
    def _version_is_pep440(cls, value: str) -> str:
        try:
            Version(value)
        except InvalidVersion:
            raise ValueError(f"a version such as '1.2.0' (PEP 440), got {value!r}") from None
        return value

    @field_validator("requires")
    @classmethod
    def _requirements_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                Requirement(item)
            except InvalidRequirement as error:
                raise ValueError(
                    f"a requirement such as 'auth>=0.2', got {item!r} ({error})"
                ) from None
        return value

    @field_validator("python_requires")
    @classmethod
    def _python_requirements_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                Requirement(item)
            except InvalidRequirement as error:
                raise ValueError(
                    f"a Python requirement such as 'numpy>=1.26' (PEP 508), got {item!r} ({error})"
                ) from None
        return value

    @property
    def requirements(self) -> list[Requirement]:
        return [Requirement(item) for item in self.requires]

    @property
    def module_name(self) -> str:
        """The identifier used for the plugin's Python package and table prefix."""
        return self.name.replace("-", "_")


def describe_validation_error(
    error: ValidationError, noun: str = "field", sources: Mapping[str, str] | None = None
) -> list[str]:
    """Turn pydantic's errors into "field 'x': expected Y (got Z)" lines; `sources` names
    where a top-level key was set (`environment variable MINDFRAME_PORT`), when known."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            problem = f"{noun} '{where}' is required"
        elif item["type"] == "extra_forbidden":
            problem = f"{noun} '{where}' is not known here (a typo?)"
        else:
            problem = f"{noun} '{where}': {message} (got {item.get('input')!r})"
        source = (sources or {}).get(str(item["loc"][0])) if item["loc"] else None
        problems.append(f"{problem}, set by {source}" if source else problem)
    return problems


def parse_manifest(data: dict[str, Any], path: Path | str) -> Manifest:
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise ManifestError(path, describe_validation_error(error)) from None


def load_manifest(path: Path) -> Manifest:
    """Read and validate a `plugin.toml`, raising ManifestError with the file and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(path, [f"not valid TOML: {error}"]) from None
    except OSError as error:
        raise ManifestError(path, [f"cannot be read: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        where = f"byte {byte:#x} at offset {error.start}"
        raise ManifestError(path, [f"is not UTF-8 ({where}); save it as UTF-8"]) from None
    return parse_manifest(data, path)
