"""What can be set about alerts in `[errors]`: who hears of new issues, regressions and spikes,
through which channel, how often at most, and how long delivery is retried.

    [errors]
    alert_recipients = [{ address = "ops@example.org", locale = "nb" }]
    alert_webhook_url = "https://hooks.slack.com/services/…"   # a secret: never logged
    spike_threshold = 100      # events of one issue within spike_window seconds
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mindframe.sdk import PluginSettings


class AlertRecipient(BaseModel):
    """Someone who gets alerts by mail, in their own locale (the default locale when unset)."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=3, max_length=320)
    locale: str | None = None


class AlertSettings(PluginSettings):
    alert_recipients: list[AlertRecipient] = Field(
        description="who gets alerts by mail (needs the mail plugin); none: no mail"
    )
    alert_webhook_url: str = Field(
        description="a Slack-compatible incoming webhook the alerts are POSTed to; empty: none"
    )
    alert_webhook_locale: str = Field(description="the webhook's locale; empty: the default")
    alert_cooldown: float = Field(
        ge=0, description="seconds after an alert during which the same issue raises no other"
    )
    spike_threshold: int = Field(
        ge=0, description="events of one issue within spike_window that make a spike; 0: off"
    )
    spike_window: float = Field(gt=0, description="seconds the spike threshold is counted over")
    alert_interval: float = Field(
        gt=0, description="seconds between the alert job's runs (spikes, retries)"
    )
    alert_retry_delay: float = Field(gt=0, description="seconds before the first retry")
    alert_max_retry_delay: float = Field(gt=0, description="the longest pause between retries")
    alert_give_up_after: float = Field(
        gt=0, description="seconds after which an undelivered alert is marked failed"
    )
    alert_webhook_timeout: float = Field(gt=0, description="seconds a webhook may take to answer")
