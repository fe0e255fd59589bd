"""`GreetingService`: greets, stores and counts; other plugins can resolve it."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from mindframe.sdk import PluginContext
from mindframe.sdk.i18n import N_

from .events import Greeted
from .models import greetings
from .settings import HelloSettings

DEFAULT_GREETING = N_("Hello")  # the manifest's default, marked so the catalogs carry it


class GreetingService:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._settings: HelloSettings = ctx.settings

    def compose(self, name: str) -> str:
        """The greeting in the request's locale (`ctx.gettext`; the default locale outside a
        request); a greeting set in settings is used as given unless the catalog knows it
        (the default "Hello" it does)."""
        _ = self._ctx.gettext
        return _("{greeting}, {name}!").format(greeting=_(self._settings.greeting), name=name)

    async def greet(self, name: str) -> str:
        limit = self._settings.max_name_length
        if len(name) > limit:
            raise ValueError(
                self._ctx.gettext("name is longer than {limit} characters").format(limit=limit)
            )
        text = self.compose(name)
        async with self._ctx.session() as session:
            await session.execute(insert(greetings).values(name=name, text=text))
            await session.commit()
        await self._ctx.publish(Greeted(name=name, text=text))
        return text

    async def count(self, name: str | None = None) -> int:
        query = select(func.count()).select_from(greetings)
        if name is not None:
            query = query.where(greetings.c.name == name)
        async with self._ctx.session() as session:
            return int((await session.execute(query)).scalar_one())

    async def names(self) -> list[str]:
        async with self._ctx.session() as session:
            rows = await session.execute(
                select(greetings.c.name).distinct().order_by(greetings.c.name)
            )
            return [row[0] for row in rows]
