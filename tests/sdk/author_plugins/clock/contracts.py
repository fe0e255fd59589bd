"""The types other plugins import: `from mindframe_plugins.clock.contracts import Clock`."""


class Clock:
    def now(self) -> str:
        return "12:00"
