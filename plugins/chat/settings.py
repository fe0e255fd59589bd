"""What can be set in `[chat]` of mindframe.toml (or MINDFRAME_CHAT__MAX_TEXT_LENGTH)."""

from mindframe.sdk import PluginSettings


class ChatSettings(PluginSettings):
    max_text_length: int
    """The longest message text, in characters."""
    max_attachment_bytes: int
    """The largest upload; a larger one is refused with 413."""
    typing_seconds: float
    """How long "typing…" shows after the last typing frame, unless it is refreshed."""
    heartbeat_seconds: float
    """How often an agent's client says it is there (the widget and the console ping)."""
    presence_timeout: float
    """An agent not heard from for this long is offline (a dropped connection)."""
    replay_page: int
    """Messages read at a time when a client catches up from its cursor."""
    batch_limit: int
    """The most messages stored in one transaction (group commit)."""
