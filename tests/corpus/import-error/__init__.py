"""A plugin that imports a module that does not exist."""

from . import helpers  # noqa: F401
