"""Attachments: uploaded with a size limit, delivered with the message, downloaded with the
key in their URL, never served as something a browser would run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_an_upload_becomes_a_message_with_a_download_link(start_chat):
    async with start_chat(max_attachment_bytes=1000) as chat:
        client = chat.kernel.client
        token = await chat.visitor_token()
        async with chat.socket() as ws:
            visitor = await chat.hello(ws, token)
            conversation_id = (await visitor.say("a file follows", None))["conversation_id"]
            url = f"/api/chat/conversations/{conversation_id}/attachments"
            html = b"<script>alert(1)</script>"
            sent = await client.post(
                url,
                files={"file": ('../../evil".html', html, "text/html")},
                data={"visitor_token": token, "client_id": "f1"},
            )
            assert sent.status_code == 201, sent.text
            assert sent.headers["access-control-allow-origin"] == "*"
            message = (await visitor.messages(2))[-1]
            assert message["seq"] == 2
            [attachment] = message["attachments"]
            assert attachment["size"] == len(html) and message["client_id"] == "f1"
            assert "/" not in attachment["filename"] and '"' not in attachment["filename"]
            download = await client.get(attachment["url"])
            assert download.status_code == 200 and download.content == html
            assert download.headers["content-type"] == "application/octet-stream"
            assert download.headers["x-content-type-options"] == "nosniff"
            assert download.headers["content-disposition"].startswith("attachment;")
            guessed = attachment["url"].split("?")[0] + "?key=guess"
            assert (await client.get(guessed)).status_code == 404

            too_big = await client.post(
                url, files={"file": ("big.bin", b"x" * 1001)}, headers={"X-Visitor-Token": token}
            )
            assert too_big.status_code == 413
            assert too_big.headers["content-type"].startswith("application/problem+json")
            assert "1000" in too_big.json()["detail"]
            stranger = await chat.visitor_token()
            refused = await client.post(
                url, files={"file": ("a.txt", b"a")}, headers={"X-Visitor-Token": stranger}
            )
            assert refused.status_code == 404
        history = await client.get(
            f"/api/chat/conversations/{conversation_id}/messages",
            headers={"X-Visitor-Token": token},
        )
        assert [len(m["attachments"]) for m in history.json()] == [0, 1]
