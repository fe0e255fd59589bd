"""Bad input is refused with a 4xx problem and nothing is queued."""

from __future__ import annotations

import pytest

from mindframe.sdk.mail import Mailer, MailError, MailRequest

pytestmark = pytest.mark.anyio

TEMPLATE = {"template": "system_alert", "context": {"level": "x", "title": "t", "message": "m"}}

REFUSED = [
    ({"to": ["not-an-address"], "subject": "s", "text": "t"}, 400, "not a valid email address"),
    ({"to": ["ada@"], "subject": "s", "text": "t"}, 400, "not a valid email address"),
    ({"to": [], "subject": "s", "text": "t"}, 400, "at least one address"),
    (
        {"to": ["a@example.org"], "subject": "Hi\r\nBcc: all@example.org", "text": "t"},
        400,
        "line breaks",
    ),
    (
        {"to": ["a@example.org\r\nBcc: all@example.org"], "subject": "s", "text": "t"},
        400,
        "line breaks",
    ),
    ({"to": ["a@example.org"], "subject": "s"}, 400, "give 'subject' and 'text'"),
    ({"to": ["a@example.org"], "template": "no_such_template"}, 422, "unknown mail template"),
    (
        {"to": ["a@example.org"], "template": "system_alert", "context": {"level": "x"}},
        422,
        "'title' is undefined",
    ),
    ({"to": ["a@example.org"], "subject": "s", "text": "t", **TEMPLATE}, 400, "not both"),
    (
        {
            "to": ["a@example.org"],
            "template": "system_alert",
            "context": {"level": "x", "title": "a\nBcc: b@c.d", "message": "m"},
        },
        400,
        "line breaks",
    ),
]


@pytest.mark.parametrize(("body", "status", "detail"), REFUSED)
async def test_bad_input_is_a_4xx_problem_and_nothing_is_queued(mail_kernel, body, status, detail):
    async with mail_kernel() as kernel:
        await check_refused(kernel, body, status, detail)


async def check_refused(kernel, body, status, detail) -> None:
    response = await kernel.client.post("/api/mail/messages", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
    assert (await kernel.client.get("/api/mail/messages")).json() == []
    assert "mail.queued" not in kernel.bus_probe.topics()


async def test_unknown_fields_and_wrong_types_are_refused(mail_kernel):
    async with mail_kernel() as kernel:
        await check_wrong_shapes(kernel)


async def check_wrong_shapes(kernel) -> None:
    wrong = [
        {"to": "a@example.org", "subject": "s", "text": "t"},
        {"to": ["a@example.org"], "subject": "s", "text": "t", "bcc": ["x@example.org"]},
        {"to": ["a@example.org"], "subject": "s", "text": "t", "priority": "urgent"},
    ]
    for body in wrong:
        assert (await kernel.client.post("/api/mail/messages", json=body)).status_code == 400
    assert (await kernel.client.get("/api/mail/messages")).json() == []


# Characters Python's email package takes for line breaks (so the message cannot be built),
# and other control characters: none may reach a header.
NOT_IN_A_HEADER = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00"]


async def test_a_header_with_a_line_separator_or_control_character_is_refused_naming_both(
    mail_kernel,
):
    async with mail_kernel() as kernel:
        for character in NOT_IN_A_HEADER:
            code = f"U+{ord(character):04X}"
            subject = {"to": ["a@example.org"], "subject": f"Hi{character}there", "text": "t"}
            named = {"to": [f"Ada{character}L <a@example.org>"], "subject": "s", "text": "t"}
            for body, field in ((subject, "subject"), (named, "address")):
                response = await kernel.client.post("/api/mail/messages", json=body)
                assert response.status_code == 400, (code, field)
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["detail"].startswith(f"{field} must not contain")
                assert code in response.json()["detail"]
        assert (await kernel.client.get("/api/mail/messages")).json() == []
        assert "mail.queued" not in kernel.bus_probe.topics()


async def test_the_mailer_refuses_what_could_not_be_built_with_a_mail_error(mail_kernel):
    async with mail_kernel() as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        with pytest.raises(MailError, match=r"^subject must not contain .*U\+2028 at position 2"):
            await mailer.send(["a@example.org"], subject="Hi\u2028there", text="t")
        with pytest.raises(MailError, match=r"^text is not valid Unicode text: U\+D800"):
            await mailer.send(["a@example.org"], subject="s", text="broken \ud800 text")
        with pytest.raises(MailError, match=r"^subject must not contain .*U\+000C"):
            await mailer.send_many(
                [
                    MailRequest(["a@example.org"], subject="fine", text="t"),
                    MailRequest(["a@example.org"], subject="page\x0cbreak", text="t"),
                ]
            )
        assert await mailer.messages() == []
