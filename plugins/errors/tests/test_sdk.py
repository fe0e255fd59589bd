"""The real `sentry-sdk` reporting over real HTTP to the runtime on a loopback port: what it
sends is accepted, digested, grouped and readable in full."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import flush

pytestmark = pytest.mark.anyio


def checkout(cart: list[int]) -> int:
    total = 0
    for price in cart:
        total += 100 // price  # the bug: a price of 0
    return total


def parse_order(text: str) -> int:
    return int(text)


def lookup_customer(customers: dict[str, str], name: str) -> str:
    return customers[name]


def raise_bug(kind: int, n: int) -> None:
    if kind == 0:
        checkout([n + 1, 0])
    elif kind == 1:
        parse_order(f"order-{n}")
    else:
        lookup_customer({}, f"customer {n}")


async def test_an_exception_arrives_with_stack_locals_user_breadcrumbs_tags_and_release(
    live_errors, sentry
):
    async with live_errors() as live:
        project = await live.project("shop")
        assert project["dsn"].startswith("http://")
        assert project["dsn"].endswith(f"@{live.base_url[7:]}/api/errors/{project['id']}")
        with sentry(project["dsn"], release="shop@1.0.0", environment="production") as sdk:
            sdk.set_user({"id": "u-7", "email": "ada@example.org", "username": "ada"})
            sdk.set_tag("checkout", "web")
            sdk.add_breadcrumb(category="cart", message="added an item with price 0")
            try:
                checkout([5, 0])
            except ZeroDivisionError as error:
                event_id = sdk.capture_exception(error)
            await flush(sdk)
        [issue] = await live.issues_counting(1, project=project["id"])
        [event] = await live.events(issue["id"])
    assert issue["title"] == "ZeroDivisionError: integer division or modulo by zero"
    assert issue["culprit"].endswith(" in checkout")
    assert (issue["count"], issue["users"], issue["level"]) == (1, 1, "error")
    assert (issue["first_release"], issue["state"]) == ("shop@1.0.0", "unresolved")
    assert event["event_id"] == event_id
    assert (event["release"], event["environment"]) == ("shop@1.0.0", "production")
    sent = event["event"]
    frame = sent["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "checkout"
    assert frame["context_line"].strip() == "total += 100 // price  # the bug: a price of 0"
    assert frame["vars"]["price"] == "0"
    assert frame["pre_context"] and frame["post_context"]
    assert sent["user"]["email"] == "ada@example.org"
    assert sent["tags"]["checkout"] == "web"
    crumbs = sent["breadcrumbs"]["values"]
    assert [c["message"] for c in crumbs] == ["added an item with price 0"]


async def test_fifty_raises_of_one_bug_make_one_issue_and_three_bugs_make_three(
    live_errors, sentry
):
    async with live_errors() as live:
        project = await live.project("shop")
        with sentry(project["dsn"]) as sdk:
            for n in range(50):
                try:
                    raise_bug(0, n)
                except Exception as error:
                    sdk.capture_exception(error)
            await flush(sdk)
            one = await live.issues_counting(50, project=project["id"])
            for kind in (1, 2):
                for n in range(3):
                    try:
                        raise_bug(kind, n)
                    except Exception as error:
                        sdk.capture_exception(error)
            await flush(sdk)
        three = await live.issues_counting(56, project=project["id"], sort="count")
    assert [i["count"] for i in one] == [50]
    assert [i["count"] for i in three] == [50, 3, 3]
    assert {i["exception_type"] for i in three} == {"ZeroDivisionError", "ValueError", "KeyError"}


async def test_messages_group_by_message_and_fingerprints_decide_when_given(live_errors, sentry):
    async with live_errors() as live:
        project = await live.project("jobs")
        with sentry(project["dsn"]) as sdk:
            sdk.capture_message("nightly export failed", level="warning")
            sdk.capture_message("nightly export failed", level="warning")
            sdk.capture_message("cache warmed")
            for tenant in ("a", "b", "a"):
                with sdk.new_scope() as scope:
                    scope.fingerprint = ["{{ default }}", f"tenant-{tenant}"]
                    try:
                        parse_order("x")
                    except ValueError as error:
                        sdk.capture_exception(error)
            await flush(sdk)
        found = await live.issues_counting(6, project=project["id"], sort="count")
    by_title: dict[str, list[int]] = {}
    for issue in found:
        by_title.setdefault(issue["title"], []).append(issue["count"])
    assert by_title["nightly export failed"] == [2]
    assert by_title["cache warmed"] == [1]
    assert sorted(by_title["ValueError: invalid literal for int() with base 10: 'x'"]) == [1, 2]
    levels = {i["title"]: i["level"] for i in found}
    assert levels["nightly export failed"] == "warning"


@pytest.mark.parametrize("algorithm", ["gzip", "br"])
async def test_compressed_bodies_from_the_sdk_are_read(live_errors, sentry, algorithm: str):
    async with live_errors() as live:
        project = await live.project("compressed")
        options: dict[str, Any] = {"_experiments": {"transport_compression_algo": algorithm}}
        with sentry(project["dsn"], **options) as sdk:
            transport = sdk.get_client().transport
            assert transport._compression_algo == algorithm
            sdk.capture_message(f"sent as {algorithm}")
            await flush(sdk)
        [issue] = await live.issues_counting(1, project=project["id"])
    assert issue["title"] == f"sent as {algorithm}"


async def test_the_sdk_sends_nothing_more_until_retry_after_once_rate_limited(live_errors, sentry):
    async with live_errors() as live:
        project = await live.project("noisy", rate_limit=3)
        limiter = live.tracker.limiter
        with sentry(project["dsn"]) as sdk:
            for n in range(3):
                sdk.capture_message(f"within the limit {n}")
                await flush(sdk)
            sdk.capture_message("over the limit")
            await flush(sdk)
            assert limiter.refused[project["id"]] == 1
            transport = sdk.get_client().transport
            # the SDK read X-Sentry-Rate-Limits: errors wait out the window's rest, while
            # other categories (a bare 429 would stop them all, for 60 s) still flow
            assert transport._check_disabled("error")
            assert not transport._check_disabled("transaction")
            assert None not in transport._disabled_until
            for n in range(5):
                sdk.capture_message(f"while limited {n}")
            await flush(sdk)
        found = await live.issues_counting(3, project=project["id"])
    assert limiter.refused[project["id"]] == 1, "the SDK kept sending after the 429"
    assert sum(i["count"] for i in found) == 3
