"""The SDK's SMTP sink: it keeps what it receives, and gives a recipient the replies a test
scripts for it before accepting mail for them."""

from email.message import EmailMessage

import aiosmtplib
import pytest

from mindframe.sdk.smtp_sink import mail_settings, smtp_sink

pytestmark = pytest.mark.anyio


def message(to: str, subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.org", to, subject
    mail.set_content("hello")
    return mail


async def test_the_sink_keeps_each_message_and_answers_a_scripted_failure_first():
    async with smtp_sink() as sink:
        assert mail_settings(sink)["smtp_port"] == sink.port
        sink.replies["busy@example.org"] = ["451 4.3.0 try again later"]
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await aiosmtplib.send(message("busy@example.org", "first"), port=sink.port)
        assert refused.value.code == 451
        await aiosmtplib.send(message("busy@example.org", "second"), port=sink.port)
        await sink.wait_for(1)
        assert sink.subjects() == ["second"]
        assert sink.received[0]["To"] == "busy@example.org"
        assert sink.connections == 2
