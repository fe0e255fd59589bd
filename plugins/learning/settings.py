"""What can be set in `[learning]` of mindframe.toml (or MINDFRAME_LEARNING__FLUSH_INTERVAL)."""

from mindframe.sdk import PluginSettings


class LearningSettings(PluginSettings):
    flush_interval: float
    """Seconds a decision may wait in memory before the log writer commits it."""
    flush_rows: int
    """Rows queued that make the writer commit at once, without waiting for the interval."""
    checkpoint_every: int
    """Rewards after which a policy's learned state is written (besides every interval)."""
    checkpoint_interval: float
    reward_window: float
    """Seconds after a decision during which its reward still counts (a policy may set its
    own `reward_window`)."""
    max_open_decisions: int
    """Decisions awaiting a reward kept in memory; older ones are looked up in the log."""
    announce_decisions: bool
    """Publish `learning.decision` for every decision."""
    announce_rewards: bool
    """Publish `learning.reward` for every reward counted."""
    promotion_alpha: float
    """A candidate replaces the live version only if it beats it at this significance."""
