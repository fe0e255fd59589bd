"""Exceptions the bus raises, so callers can catch bus problems specifically."""


class BusError(Exception):
    """Base class for event bus errors."""


class BusNotStarted(BusError):
    """Publishing or replaying before ``start()`` or after ``close()``."""


class UnknownTopic(BusError, LookupError):
    """No event type is registered for a topic (cannot decode its payload)."""


class RequestTimeout(BusError, TimeoutError):
    """Nobody answered a ``bus.request`` within its timeout."""


class DeadLetterNotFound(BusError, LookupError):
    """No dead letter with that id."""
