"""What can be set in `[mail]` of mindframe.toml (or `MINDFRAME_MAIL__SMTP_PORT=2525`)."""

from typing import Literal

from pydantic import Field

from mindframe.sdk import PluginSettings


class MailSettings(PluginSettings):
    smtp_host: str
    smtp_port: int = Field(ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"]
    smtp_username: str
    smtp_password: str
    smtp_ca_file: str = Field(description="PEM file of CAs to trust; the system's when empty")
    smtp_timeout: float = Field(gt=0)
    sender: str
    batch_size: int = Field(ge=1, description="messages claimed from the outbox at once")
    max_connections: int = Field(ge=1, description="SMTP connections open at once")
    per_domain_concurrency: int = Field(ge=1, description="transactions at once per domain")
    max_attempts: int = Field(ge=1, description="tries before a temporary failure is final")
    retry_delay: float = Field(ge=0, description="first backoff after a 4xx, doubled each try")
    max_retry_delay: float = Field(ge=0)
    sending_lease: float = Field(
        gt=0, description="a message left 'sending' this long (a crash) is sent again"
    )
    poll_interval: float = Field(gt=0, description="longest sleep of the sender when idle")
    max_attachment_size: int = Field(
        ge=0, description="most bytes of attachments one message carries, before encoding"
    )
    inbound_port: int = Field(ge=0, le=65535, description="SMTP listener; 0 is off")
    inbound_host: str
    inbound_domains: list[str] = Field(description="domains the listener accepts mail for")
    inbound_max_size: int = Field(ge=1, description="largest accepted inbound message, bytes")
    inbound_max_parts: int = Field(ge=1, description="most MIME parts in an inbound message")
    inbound_max_depth: int = Field(ge=0, description="deepest nesting of inbound MIME parts")
