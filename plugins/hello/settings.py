"""What can be set in `[hello]` of mindframe.toml (or MINDFRAME_HELLO__GREETING)."""

from mindframe.sdk import PluginSettings


class HelloSettings(PluginSettings):
    greeting: str
    max_name_length: int
