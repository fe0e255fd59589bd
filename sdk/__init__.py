"""Everything a plugin author imports."""
from pluggy import HookimplMarker
hookimpl = HookimplMarker("mindframe")

