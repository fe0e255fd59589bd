"""An input that does not fit the agent's struct: the field's path, a problem code and a
message in the asker's language, alike on the run route, the bus topic and (in the mcp
plugin's tests) the MCP tool; and msgspec's messages read into those for every kind it
reports, with its own text kept for a shape it does not know."""

from typing import Annotated, Literal

import msgspec
import pytest

from mindframe.sdk.agents import agent_topics
from mindframe.sdk.agents.input_errors import read_input_error

from .agent_plugins import write_agent

pytestmark = pytest.mark.anyio

CHECKED = """
from typing import Annotated

import msgspec
from mindframe.sdk.agents import Agent, Run


class Vitals(msgspec.Struct, forbid_unknown_fields=True):
    patient_id: str
    respiration_rate: int
    spo2: Annotated[int, msgspec.Meta(ge=50, le=100)]


class Out(msgspec.Struct):
    ok: bool


async def run(data: Vitals, run: Run) -> Out:
    return Out(ok=True)


AGENT = Agent(
    industry="test", title="Checked", description="Checks", input=Vitals, output=Out, run=run
)
"""
GOOD = {"patient_id": "p-1", "respiration_rate": 18, "spo2": 97}
CASES = [
    ({**GOOD, "respiration_rate": "fast"}, "$.respiration_rate", "wrong_type"),
    ({"patient_id": "p-1", "spo2": 97}, "$.respiration_rate", "missing"),
    ({**GOOD, "spo2": 101}, "$.spo2", "too_large"),
]
MESSAGES = {
    "en_US": [
        "respiration_rate must be a whole number, not text",
        "respiration_rate is required",
        "spo2 must be at most 100",
    ],
    "nb": [
        "respiration_rate må være et heltall, ikke tekst",
        "respiration_rate er påkrevd",
        "spo2 kan være høyst 100",
    ],
    "de": [
        "respiration_rate muss eine ganze Zahl sein, nicht Text",
        "respiration_rate ist erforderlich",
        "spo2 darf höchstens 100 sein",
    ],
}


@pytest.fixture
async def checked(boot_kernel, plugin_factory):
    write_agent(plugin_factory, "checked", CHECKED)
    async with boot_kernel(["checked", "i18n"]) as kernel:
        yield kernel


@pytest.mark.parametrize("locale", list(MESSAGES))
async def test_the_route_refuses_a_bad_input_in_the_askers_language(checked, locale):
    for (body, field, problem), message in zip(CASES, MESSAGES[locale], strict=True):
        response = await checked.client.post(
            "/api/checked/run", json=body, headers={"Accept-Language": locale.replace("_", "-")}
        )
        assert response.status_code == 400, response.text
        answer = response.json()
        assert answer["detail"] == message
        assert answer["errors"] == [{"field": field, "problem": problem, "message": message}]


@pytest.mark.parametrize("locale", list(MESSAGES))
async def test_the_bus_topic_refuses_a_bad_input_in_the_events_locale(checked, locale):
    topics = agent_topics("checked")
    for (body, field, problem), message in zip(CASES, MESSAGES[locale], strict=True):
        reply = await checked.runtime.bus.request(topics.run(input=body, locale=locale), timeout=10)
        assert reply["status"] == 400
        assert reply["detail"] == message
        assert reply["errors"] == [{"field": field, "problem": problem, "message": message}]


async def test_a_body_not_declared_json_is_refused_with_415_saying_what_to_send(checked):
    response = await checked.client.post(
        "/api/checked/run", content=b"respiration_rate=18", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415, response.text
    assert response.json()["detail"] == (
        "POST /api/checked/run takes a JSON body, but the request has Content-Type "
        "'text/plain': send it with Content-Type: application/json"
    )


async def test_a_body_that_is_not_json_is_told_so_in_the_askers_language(checked):
    response = await checked.client.post(
        "/api/checked/run",
        content=b'{"patient_id": ',
        headers={"Content-Type": "application/json", "Accept-Language": "de"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "$",
            "problem": "malformed_json",
            "message": "der Inhalt endet, bevor sein JSON vollständig ist",
        }
    ]


class Visit(msgspec.Struct, forbid_unknown_fields=True):
    at: Annotated[float, msgspec.Meta(gt=0.5, multiple_of=0.5)] = 1.0
    code: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "ABC"
    kind: Literal["home", "clinic"] = "home"


class Plan(msgspec.Struct, forbid_unknown_fields=True):
    visits: Annotated[list[Visit], msgspec.Meta(min_length=1)]
    name: Annotated[str, msgspec.Meta(max_length=3)] = "x"
    week: int | None = None

    def __post_init__(self) -> None:
        if self.name == "bad":
            raise ValueError("no plan may be called bad")


@pytest.mark.parametrize(
    ("value", "field", "problem", "message"),
    [
        ({"visits": [{"nurse": 1}]}, "$.visits[0].nurse", "unknown_field", None),
        ({"visits": []}, "$.visits", "too_short", "visits must have at least 1 entry"),
        ({"visits": [{}], "name": "long"}, "$.name", "too_long", None),
        ({"visits": [{"at": 0.5}]}, "$.visits[0].at", "too_small", None),
        ({"visits": [{"at": 0.7}]}, "$.visits[0].at", "not_multiple", None),
        ({"visits": [{"code": "ab"}]}, "$.visits[0].code", "pattern", None),
        (
            {"visits": [{"kind": "car"}]},
            "$.visits[0].kind",
            "not_allowed",
            "visits[0].kind cannot be 'car': it is not one of the allowed values",
        ),
        (
            {"visits": [{}], "week": "next"},
            "$.week",
            "wrong_type",
            "week must be a whole number or null, not text",
        ),
        ([], "$", "wrong_type", "the input must be an object, not a list"),
        (
            {"visits": [{}], "name": "bad"},
            "$",
            "invalid",
            "the input is not valid: no plan may be called bad",
        ),
    ],
)
def test_each_kind_msgspec_reports_is_read_into_field_problem_and_message(
    value, field, problem, message
):
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.convert(value, Plan)
    told = read_input_error(raised.value)
    assert (told.field, told.problem) == (field, problem), str(raised.value)
    assert told.message == message if message else field.removeprefix("$.") in told.message


def test_malformed_json_and_an_unknown_shape_keep_a_path_and_a_message():
    with pytest.raises(msgspec.DecodeError) as raised:
        msgspec.json.decode(b'{"visits": [}', type=Plan)
    told = read_input_error(raised.value)
    assert (told.field, told.problem) == ("$", "malformed_json")
    assert told.message == "the body is not valid JSON (at byte 12)"
    odd = read_input_error(msgspec.ValidationError("Something new - at `$.visits[2]`"))
    assert (odd.field, odd.problem, odd.message) == (
        "$.visits[2]",
        "invalid",
        "visits[2] is not valid: Something new",
    )
