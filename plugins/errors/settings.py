"""What can be set in `[errors]` of mindframe.toml (or `MINDFRAME_ERRORS__RATE_LIMIT=600`)."""

from pydantic import Field

from .alert_settings import AlertSettings


class ErrorsSettings(AlertSettings):  # the alert_* and spike_* keys: alert_settings.py
    public_url: str = Field(
        description="scheme://host:port the SDKs reach this server at, for DSNs; "
        "empty: the address the request creating the project came to"
    )
    max_envelope_bytes: int = Field(ge=1, description="largest request body, as sent")
    max_decompressed_bytes: int = Field(ge=1, description="largest body once decompressed")
    rate_limit: int = Field(ge=0, description="events a minute per project; 0: no limit")
    digest_interval: float = Field(gt=0, description="seconds between digests when idle")
    digest_batch: int = Field(ge=1, description="envelopes digested per transaction")
    digest_wait: float = Field(
        ge=0,
        description="seconds the digest waits for a full batch once an envelope is accepted "
        "(it starts at once when digest_batch are waiting, or when the intake is quiet)",
    )
    digest_quiet: float = Field(
        gt=0,
        description="seconds without an accepted envelope after which those waiting are "
        "digested (the end of a burst), without waiting out digest_wait",
    )
    digest_worker_min_batch: int = Field(
        ge=0,
        description="while this many envelopes wait (a burst), a worker process beside the "
        "intake reads, decodes, normalises, fingerprints and stores the batches, and the "
        "digest starts once this many wait, not digest_batch; 0: never",
    )
    retention_days: float = Field(gt=0, description="events older than this are deleted")
    max_events: int = Field(ge=1, description="events kept per project, newest first")
    retention_interval: float = Field(gt=0, description="seconds between retention runs")
    builtin_project: str = Field(description="the project the runtime's own errors go to")
    capture_runtime_errors: bool
    max_attachment_bytes: int = Field(ge=0, description="larger attachments are dropped")
