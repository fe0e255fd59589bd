"""Helpers of the mail tests: a plugin that grants permissions by a request header. (The SMTP
sink is the SDK's: `mindframe.sdk.smtp_sink`.)"""

FAKE_AUTH = '''
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import Authenticator, Identity, install_authenticator


class HeaderAuthenticator(Authenticator):
    """Tests only: whoever sends `X-Test-Permissions: a,b` holds permissions a and b."""

    async def authenticate(self, connection):
        granted = connection.headers.get("x-test-permissions")
        if granted is None:
            return None
        permissions = frozenset(p for p in granted.split(",") if p)
        return Identity(user_id="u1", username="tester", permissions=permissions)

    async def enforcing(self):
        return True

    async def permission_denied(self, connection, identity, permission):
        pass


@hookimpl
def startup(ctx):
    install_authenticator(ctx, HeaderAuthenticator())
'''
