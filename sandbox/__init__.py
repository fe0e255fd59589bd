"""Out-of-process host for plugins that ask for isolation (`isolation = "process"`).

The kernel calls `load_sandboxed(folder, manifest, module_name, report_error=...)` instead
of importing such a plugin, and runs the proxy module it returns like any other plugin;
the plugin's code runs in a child process (`mindframe.sandbox.child`) under the limits and
permissions of its manifest. See `docs` in `sandbox/README.md`.
"""

from .permissions import AuditRecord, PermissionDenied
from .proxy import SandboxedCode, SandboxProxy, load_sandboxed

__all__ = ["AuditRecord", "PermissionDenied", "SandboxProxy", "SandboxedCode", "load_sandboxed"]
