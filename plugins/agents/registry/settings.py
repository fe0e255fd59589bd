"""What can be set in `[agents]` of mindframe.toml (or `MINDFRAME_AGENTS__SECRET_KEY`)."""

from pydantic import Field, field_validator

from mindframe.sdk import PluginSettings


class AgentsSettings(PluginSettings):
    secret_key: str = Field(
        description="64 hex digits keying input digests and sealing health data at rest; "
        "made once and kept in the database when empty"
    )
    history_limit: int = Field(ge=1, le=10_000)
    writer_process_min_batch: int = Field(
        ge=0,
        description="runs written together from which their rows are built and written in "
        "a worker process, off the server's GIL (0: always in the server)",
    )

    @field_validator("secret_key")
    @classmethod
    def _hex_key(cls, value: str) -> str:
        if value and (len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value)):
            raise ValueError("64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`")
        return value
