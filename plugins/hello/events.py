"""What the plugin tells the rest of the runtime."""

from typing import ClassVar

from mindframe.sdk import Event


class Greeted(Event):
    topic: ClassVar[str] = "hello.greeted"

    name: str
    text: str
