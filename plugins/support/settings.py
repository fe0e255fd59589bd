"""What can be set in `[support]` of mindframe.toml (or `MINDFRAME_SUPPORT__ASSIGNMENT=manual`)."""

from typing import Literal

from pydantic import Field

from mindframe.sdk import PluginSettings

Strategy = Literal["round_robin", "least_loaded", "manual"]
Priority = Literal["low", "normal", "high", "urgent"]


class SupportSettings(PluginSettings):
    assignment: Strategy = Field(
        description="how new tickets find an online agent; manual: agents take them"
    )
    max_concurrent: int = Field(ge=1, description="open tickets an agent holds at most")
    reassign_after: float = Field(
        ge=0, description="seconds an agent may be offline before their tickets move"
    )
    assignment_interval: float = Field(gt=0, description="seconds between assignment rounds")
    sla_interval: float = Field(gt=0, description="seconds between SLA checks")
    catch_up_interval: float = Field(
        gt=0, description="seconds between looks for chat messages support did not hear"
    )
    first_response_minutes: dict[Priority, float] = Field(
        description="time to the first agent reply, by priority"
    )
    resolution_minutes: dict[Priority, float] = Field(description="time to resolution, by priority")
    public_url: str = Field(description="where customers reach /support/ (CSAT links)")
    csat_by_mail: bool = Field(description="ask e-mail customers for a rating on resolution")
