"""What the plugin tells the rest of the runtime: an issue was created, or came back.

Alerting (mail, Slack) subscribes to these; spikes are computed from the tables instead
(`errors_issue_hours`), so there is no spike event. Both are published by the digest after
the batch that caused them is committed, and are durable on the bus, so a slow or failing
subscriber gets them again rather than never.
"""

from datetime import datetime
from typing import ClassVar

from mindframe.sdk import Event


class IssueEvent(Event):
    """The issue as it stood when the digest committed the batch that changed it."""

    durable: ClassVar[bool] = True

    issue_id: int
    project_id: int
    title: str
    level: str
    culprit: str | None
    first_seen: datetime
    last_seen: datetime
    count: int


class IssueCreated(IssueEvent):
    """The first event of a new group arrived."""

    topic: ClassVar[str] = "errors.issue.created"


class IssueRegressed(IssueEvent):
    """A resolved issue had a new event in a later release and is unresolved again."""

    topic: ClassVar[str] = "errors.issue.regressed"

    release: str | None = None
