"""What can be set in `[llm]` of mindframe.toml (or `MINDFRAME_LLM__BASE_URL`, …)."""

from pydantic import Field

from mindframe.sdk import PluginSettings


class LlmSettings(PluginSettings):
    base_url: str = Field(description="the API's base URL, up to and with /v1; empty: no model")
    api_key: str = Field(description="sent as `Authorization: Bearer …`; never logged")
    model: str
    timeout: float = Field(gt=0)
    max_tokens: int = Field(ge=1)
