"""Attachments: stored with the message, sent as MIME attachments through a real SMTP
server, bounded by `max_attachment_size`, kept across a restart and a schema upgrade."""

from __future__ import annotations

import base64
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from mindframe.sdk.mail import Attachment, AttachmentTooLarge, Mailer, MailError
from mindframe.sdk.smtp_sink import Sink

pytestmark = pytest.mark.anyio

EVERY_BYTE = bytes(range(256)) * 40  # binary, with CR, LF and NUL: must arrive unchanged
PDF = Attachment("Faktura INV-000001 æøå.pdf", "application/pdf", b"%PDF-1.7\n" + EVERY_BYTE)
CSV = Attachment("lines.csv", "text/csv", b"description;amount\r\nLicence;100\r\n")


def soon() -> datetime:
    """Due after the kernel that queues it has stopped (a stop takes well under this)."""
    return datetime.now(UTC) + timedelta(seconds=3)


def attached(mail) -> list[tuple[str, str, bytes]]:
    """(file name, content type, bytes) of each attachment of a received message."""
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in mail.iter_attachments()
    ]


async def test_attachments_arrive_as_mime_attachments_beside_text_and_html(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        queued = await mailer.send(
            ["ada@example.org"],
            subject="Your invoice",
            text="Plain",
            html="<p>Rich</p>",
            attachments=[PDF, CSV],
        )
        await sink.wait_for(1)
        status = await mailer.status(queued.id)
    [mail] = sink.received
    assert mail.get_content_type() == "multipart/mixed"
    assert mail.get_body(("plain",)).get_content().strip() == "Plain"
    assert mail.get_body(("html",)).get_content().strip() == "<p>Rich</p>"
    assert attached(mail) == [
        (PDF.filename, "application/pdf", PDF.content),
        (CSV.filename, "text/csv", CSV.content),
    ]
    assert [(a.filename, a.size) for a in status.attachments] == [
        (PDF.filename, len(PDF.content)),
        (CSV.filename, len(CSV.content)),
    ]


async def test_attachments_over_the_size_limit_are_refused_and_nothing_is_queued(mail_kernel):
    async with mail_kernel(max_attachment_size=1000) as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        halves = [Attachment(f"{n}.bin", "application/octet-stream", b"x" * 500) for n in "ab"]
        await mailer.send(["a@example.org"], subject="s", text="t", attachments=halves)  # 1000
        over = [*halves, Attachment("c.bin", "application/octet-stream", b"x")]
        with pytest.raises(AttachmentTooLarge, match=r"1,001 bytes .* at most 1,000") as refused:
            await mailer.send(["a@example.org"], subject="s", text="t", attachments=over)
        assert isinstance(refused.value, MailError) and refused.value.status == 413
        assert [m.subject for m in await mailer.messages()] == ["s"]  # only the first


BAD = [
    (Attachment("", "application/pdf", b"x"), "filename must be a file name"),
    (Attachment("../../etc/passwd", "text/plain", b"x"), "a name, not a path"),
    (Attachment("a.pdf\r\nBcc: all@example.org", "application/pdf", b"x"), "line breaks"),
    (Attachment("a.pdf", "pdf", b"x"), "content_type must be a MIME type"),
    (Attachment("a.pdf", "application/pdf; name=b.exe", b"x"), "content_type must be"),
    (Attachment("a.eml", "multipart/mixed", b"x"), "not multipart"),
    (Attachment("a.pdf", "application/pdf", "text, not bytes"), "content must be bytes"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("attachment", "detail"), BAD)
async def test_an_attachment_that_is_not_a_file_is_refused_and_nothing_is_queued(
    mail_kernel, attachment, detail
):
    async with mail_kernel() as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        with pytest.raises(MailError, match=detail):
            await mailer.send(["a@example.org"], subject="s", text="t", attachments=[attachment])
        assert await mailer.messages() == []


def posted(*files: Attachment, **fields) -> dict:
    return {
        "to": ["ada@example.org"],
        "subject": "Files",
        "text": "Attached.",
        "attachments": [
            {
                "filename": f.filename,
                "content_type": f.content_type,
                "content": base64.b64encode(f.content).decode(),
            }
            for f in files
        ],
        **fields,
    }


async def test_attachments_posted_in_base64_are_sent(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        response = await kernel.client.post("/api/mail/messages", json=posted(PDF, CSV))
        assert response.status_code == 202, response.text
        await sink.wait_for(1)
        shown = (await kernel.client.get(f"/api/mail/messages/{response.json()['id']}")).json()
    assert attached(sink.received[0])[0] == (PDF.filename, "application/pdf", PDF.content)
    assert [a["filename"] for a in shown["attachments"]] == [PDF.filename, CSV.filename]


async def test_the_http_api_bounds_attachments_and_the_body(mail_kernel):
    async with mail_kernel(max_attachment_size=3000) as kernel:
        big = Attachment("big.bin", "application/octet-stream", b"x" * 3001)
        over = await kernel.client.post("/api/mail/messages", json=posted(big))
        assert over.status_code == 413
        assert "max_attachment_size" in over.json()["detail"]
        huge = Attachment("huge.bin", "application/octet-stream", b"x" * 2_000_000)
        unread = await kernel.client.post("/api/mail/messages", json=posted(huge))
        assert unread.status_code == 413  # over the body limit: refused before it is read,
        assert "max_attachment_size" not in unread.text  # so not by the attachments' check
        body = posted(CSV)
        body["attachments"][0]["content"] = "not base64!"
        assert (await kernel.client.post("/api/mail/messages", json=body)).status_code == 400
        assert (await kernel.client.get("/api/mail/messages")).json() == []


async def test_a_queued_message_keeps_its_attachments_across_a_restart(
    mail_kernel, sink: Sink, tmp_path
):
    async with mail_kernel() as kernel:  # stopped before it is due
        mailer = kernel.runtime.container.resolve(Mailer)
        queued = await mailer.send(
            ["ada@example.org"], subject="later", text="t", send_at=soon(), attachments=[PDF]
        )
    assert sink.received == []
    with sqlite3.connect(tmp_path / "data" / "mindframe.db") as database:
        [(stored,)] = database.execute("SELECT content FROM mail_attachments").fetchall()
    assert stored == PDF.content
    async with mail_kernel() as kernel:  # a new process's worth of kernel on the same data
        await sink.wait_for(1, timeout=30)
        assert (await kernel.runtime.container.resolve(Mailer).status(queued.id)).state in (
            "sending",
            "sent",
        )
    assert attached(sink.received[0]) == [(PDF.filename, "application/pdf", PDF.content)]


async def test_a_database_made_before_attachments_is_upgraded_and_its_queue_still_sent(
    mail_kernel, sink: Sink, tmp_path
):
    async with mail_kernel() as kernel:
        await kernel.runtime.container.resolve(Mailer).send(
            ["old@example.org"], subject="queued before", text="t", send_at=soon()
        )
    with sqlite3.connect(tmp_path / "data" / "mindframe.db") as database:
        # the tables as the revision before attachments (7c1e52a9d0b4) left them
        database.execute("DROP TABLE mail_attachments")
        database.execute("ALTER TABLE mail_outbox DROP COLUMN attachments")
        database.execute("UPDATE mail_alembic_version SET version_num = '7c1e52a9d0b4'")
        database.execute("DELETE FROM kernel_schemas WHERE plugin = 'mail'")
    async with mail_kernel() as kernel:
        await kernel.runtime.container.resolve(Mailer).send(
            ["new@example.org"], subject="with a file", text="t", attachments=[CSV]
        )
        await sink.wait_for(2, timeout=30)
    by_subject = {str(mail["Subject"]): attached(mail) for mail in sink.received}
    assert by_subject == {
        "queued before": [],
        "with a file": [(CSV.filename, "text/csv", CSV.content)],
    }
