"""The permissions auth declares, and the rule that no credential makes a stronger one.

Administrators grant the permissions in `GRANTED` through roles. Every user holds those in
`OWN_ACCOUNT` over their own account; a session reaches them, an API token only when its
scopes name them (`auth.tokens.create`, or a pattern such as `auth.*`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mindframe.sdk.i18n import N_

from .refusals import Refusal

MANAGE_USERS = "auth.users.manage"
READ_AUDIT = "auth.audit.read"
CHANGE_PASSWORD = "auth.me.password"
EXPORT_ME = "auth.me.export"
ERASE_ME = "auth.me.erase"
READ_TOKENS = "auth.tokens.read"
CREATE_TOKENS = "auth.tokens.create"
REVOKE_TOKENS = "auth.tokens.revoke"

GRANTED = {
    MANAGE_USERS: "Add, change and erase users holding no more than you; define roles",
    READ_AUDIT: "Read the audit log",
    "kernel.plugins.read": "See the plugins and their state",
    "kernel.plugins.enable": "Enable plugins",
    "kernel.plugins.disable": "Disable plugins",
    "kernel.plugins.reload": "Reload plugins",
    "kernel.bus.read": "See the bus: subscriptions, queues, dead letters",
    "kernel.bus.manage": "Re-drive dead letters and change the bus",
}
OWN_ACCOUNT = {
    CHANGE_PASSWORD: "Change your own password",
    EXPORT_ME: "Download everything held about you",
    ERASE_ME: "Erase your own account",
    READ_TOKENS: "See your own API tokens",
    CREATE_TOKENS: "Make API tokens, each reaching no more than the credential making it",
    REVOKE_TOKENS: "Revoke your own API tokens",
}
DECLARED = {**GRANTED, **OWN_ACCOUNT}


def refuse_beyond(held: Callable[[str], bool], wanted: Iterable[str]) -> None:
    """Raise a 403 Refusal naming the first of `wanted` that `held` does not allow: a token,
    a password, a role or an administrator made by a credential carries no more than it."""
    for permission in sorted(set(wanted)):
        if not held(permission):
            raise Refusal(
                N_(
                    "you cannot grant '{permission}': you do not hold it yourself "
                    "(a token holds only its scopes)"
                ),
                403,
                permission=permission,
            )
