"""Who may do what: the plugin's permissions and the guards that check them.

`learning.use` decides and rewards (a service's API token gets it as its scope),
`learning.read` reads policies, versions, reward curves, estimates and experiments, and
`learning.manage` creates policies and experiments, promotes candidates and rolls back.
"""

from __future__ import annotations

from mindframe.sdk.auth import requires_permission

PERMISSIONS = {
    "learning.use": "Ask the learning engine's policies for decisions and reward them",
    "learning.read": "See policies, their versions, reward curves, estimates and experiments",
    "learning.manage": (
        "Create policies and experiments, promote candidates and roll back versions"
    ),
}

USE = requires_permission("learning.use")
READ = requires_permission("learning.read")
MANAGE = requires_permission("learning.manage")
