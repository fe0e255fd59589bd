"""What can be set in `[auth]` of mindframe.toml. Tests lower the Argon2 costs."""

from typing import Literal

from pydantic import Field

from mindframe.sdk import PluginSettings


class AuthSettings(PluginSettings):
    argon2_time_cost: int = Field(ge=1)
    argon2_memory_cost: int = Field(ge=8)
    argon2_parallelism: int = Field(ge=1)
    max_concurrent_hashes: int = Field(ge=1)
    max_failed_logins: int = Field(ge=1)
    failure_window: int = Field(ge=1)
    lockout_seconds: int = Field(ge=1)
    login_attempts_per_minute: int = Field(ge=1)
    session_seconds: int = Field(ge=60)
    token_ttl_days: int = Field(ge=1)
    identity_recheck_seconds: float = Field(ge=0)
    cookie_name: str
    cookie_secure: bool
    cookie_samesite: Literal["strict", "lax"]
