"""Grouping rules on hand-made events: what splits a group and what must not."""

from __future__ import annotations

import copy
from typing import Any

from mindframe_plugins.errors.grouping import group_hash
from mindframe_plugins.errors.normalize import exceptions_of


def crash(
    lineno: int = 10, function: str = "charge", line: str = "total = 100 // n"
) -> dict[str, Any]:
    frames = [
        {
            "module": "shop.cart",
            "function": function,
            "lineno": lineno,
            "context_line": line,
            "in_app": True,
        },
        {"module": "lib.util", "function": "wrap", "lineno": lineno * 3, "in_app": False},
    ]
    return {
        "exception": {
            "values": [
                {
                    "type": "ZeroDivisionError",
                    "value": f"at {lineno}",
                    "stacktrace": {"frames": frames},
                }
            ]
        }
    }


def hash_of(event: dict[str, Any]) -> str:
    return group_hash(event, exceptions_of(event), None)


def test_line_numbers_addresses_and_spacing_do_not_split_a_group_but_code_does():
    base = hash_of(crash())
    assert hash_of(crash(lineno=57)) == base
    assert hash_of(crash(line="  total  =  100 // n ")) == base
    assert hash_of(crash(function="charge")) == hash_of(crash(function="charge"))
    at_a = hash_of(crash(function="<lambda at 0x7f3a2c>"))
    assert hash_of(crash(function="<lambda at 0x55d1e0>")) == at_a
    assert hash_of(crash(line="total = 100 // count")) != base
    assert hash_of(crash(function="refund")) != base


def test_fingerprint_replaces_or_extends_the_default_and_values_are_masked():
    base = crash()
    extended = copy.deepcopy(base) | {"fingerprint": ["{{ default }}", "tenant-a"]}
    replaced = copy.deepcopy(base) | {"fingerprint": ["payments"]}
    assert hash_of(extended) != hash_of(base)
    assert hash_of(replaced) == hash_of(crash(line="other") | {"fingerprint": ["payments"]})
    plain = {"exception": {"values": [{"type": "KeyError", "value": "user 4411 id 9f8e7d6c5b4a"}]}}
    other = {"exception": {"values": [{"type": "KeyError", "value": "user 12 id 0a1b2c3d4e5f"}]}}
    assert hash_of(plain) == hash_of(other)
    assert group_hash({}, [], "disk full") != group_hash({}, [], "disk empty")
