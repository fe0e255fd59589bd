"""What the kernel knows about each plugin: where it came from, its state and its error."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from .context import PluginContext
from .discovery import Candidate
from .hooks import Hook
from .loader import ImportedCode
from .manifest import Manifest


class PluginState(StrEnum):
    DISCOVERED = "discovered"
    LOADED = "loaded"
    ACTIVE = "active"
    FAILED = "failed"
    DISABLED = "disabled"
    UNLOADED = "unloaded"


@dataclass
class PluginRecord:
    candidate: Candidate
    state: PluginState = PluginState.DISCOVERED
    error: str | None = None
    traceback: str | None = None
    code: ImportedCode | None = None
    hooks: dict[str, Hook] = field(default_factory=dict)
    context: PluginContext | None = None
    held_back_by: str | None = None

    @property
    def name(self) -> str:
        return self.candidate.name

    @property
    def manifest(self) -> Manifest | None:
        return self.candidate.manifest

    @property
    def folder(self) -> Path | None:
        return self.candidate.folder

    def fail(self, error: str, traceback: str | None = None) -> None:
        self.state = PluginState.FAILED
        self.error = error
        self.traceback = traceback

    def view(self) -> dict[str, Any]:
        """The public description shown by the API and the CLI."""
        manifest = self.manifest
        return {
            "name": self.name,
            "version": manifest.version if manifest else None,
            "description": manifest.description if manifest else "",
            "state": self.state.value,
            "error": self.error,
            "traceback": self.traceback,
            "origin": self.candidate.origin,
            "requires": list(manifest.requires) if manifest else [],
            "isolation": manifest.isolation if manifest else None,
            "owned": self.context.ledger.counts() if self.context else {},
        }
