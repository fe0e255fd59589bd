"""Names a hook argument the hook does not have."""

from mindframe.sdk import hookimpl


@hookimpl
async def startup(context) -> None:
    pass
