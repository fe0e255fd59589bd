"""The SDK's `serving_page`: a page of the test's own on a loopback origin of its own, gone
when the block ends."""

import httpx
import pytest

from mindframe.sdk.browser import serving_page


def test_the_page_is_served_on_its_own_port_only_inside_the_block():
    with serving_page("<p>Butikken</p>") as url:
        answer = httpx.get(url)
        assert answer.status_code == 200
        assert answer.text == "<p>Butikken</p>"
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
