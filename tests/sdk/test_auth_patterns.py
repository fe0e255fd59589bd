"""Permission patterns in `mindframe.sdk.auth`: what a grant covers, and what a credential
reaches, for permissions and for patterns alike."""

import pytest

from mindframe.sdk.auth import Identity, covered


@pytest.mark.parametrize(
    ("wanted", "grants", "expected"),
    [
        ("mail.send", {"mail.send"}, True),
        ("mail.send", {"mail.*"}, True),
        ("mail.send", {"*"}, True),
        ("mail.send", {"kernel.*"}, False),
        ("mail.*", {"mail.*"}, True),
        ("mail.*", {"*"}, True),
        ("mail.s*", {"ma*"}, True),
        ("m?il.*", {"m*"}, True),
        ("*", {"mail.*"}, False),
        ("mail.*", {"mail.send"}, False),
        ("mail.*", {"mail.send", "mail.read"}, False),
        # a pattern matching the grant as text may still name more than the grant allows
        ("a*c", {"a?c"}, False),
        ("a[b]", {"a*]"}, False),
        ("mail.*", set(), False),
    ],
)
def test_a_grant_covers_a_permission_or_pattern_only_when_it_allows_all_it_names(
    wanted, grants, expected
):
    assert covered(wanted, grants) is expected


def test_a_session_reaches_everything_and_a_token_only_its_scopes():
    session = Identity("1", "ada", permissions=frozenset({"mail.*"}))
    token = Identity("1", "ada", permissions=frozenset({"mail.*"}), scopes=frozenset({"mail.read"}))
    assert session.reaches("*") and session.can("mail.*") and not session.can("*")
    assert token.reaches("mail.read") and not token.reaches("mail.*")
    assert token.can("mail.read") and not token.can("mail.send")
