"""What an alert says, in one recipient's locale: a headline and a few lines of facts.

The same wording serves the mail (the mail plugin's `error_alert` template) and the webhook
(`slack.py`); each recipient's text comes from this plugin's catalogs in their locale, the
numbers and dates from Babel in that locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.i18n import DEFAULT_LOCALE, N_, Localizer, Translations, negotiate_locale

KINDS = {
    "created": N_("New issue"),
    "regressed": N_("Regression"),
    "spike": N_("Spike"),
}
IN_PROJECT = N_("{kind} in {project}")
LEVEL = N_("Level: {level}")
WHERE = N_("Where: {culprit}")
RELEASE = N_("Seen again in release {release}")
FIRST_SEEN = N_("First seen: {when} UTC")
OPEN_ISSUE = N_("Open the issue")
MAX_TITLE = 300


@dataclass(frozen=True, slots=True)
class AlertText:
    kind: str
    """"New issue", "Regression" or "Spike", translated."""
    project: str
    title: str
    headline: str
    """"New issue in shop", translated."""
    facts: list[str]
    url: str | None
    open_label: str


def localizer(ctx: PluginContext, locale: str | None) -> Localizer:
    """This plugin's catalogs in `locale` (negotiated: `de_AT` -> `de`); without the i18n
    plugin, messages as written with the locale's number and date formats."""
    try:
        translations = ctx.resolve(Translations)
    except ServiceError:
        return Localizer(negotiate_locale([locale]) or DEFAULT_LOCALE)
    return translations.localizer(ctx.name, translations.negotiate(locale))


def one_line(text: str, limit: int = MAX_TITLE) -> str:
    """`text` without line breaks or control characters (a mail subject allows none)."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compose(facts: dict[str, Any], l10n: Localizer, issue_url: str | None) -> AlertText:
    """The alert described by `facts` (what `alerts.py` recorded) in `l10n`'s locale."""
    _ = l10n.gettext
    kind = _(KINDS[facts["kind"]])
    lines = [_(LEVEL).format(level=facts["level"])]
    if facts.get("culprit"):
        lines.append(_(WHERE).format(culprit=one_line(facts["culprit"])))
    if facts["kind"] == "spike":
        period = format_timedelta(
            timedelta(seconds=facts["window"]), threshold=10, locale=l10n.babel_locale
        )
        lines.append(
            l10n.ngettext(
                "{count} event in {period}", "{count} events in {period}", facts["recent"]
            ).format(count=l10n.format_number(facts["recent"]), period=period)
        )
    if facts["kind"] == "regressed" and facts.get("release"):
        lines.append(_(RELEASE).format(release=one_line(facts["release"])))
    lines.append(
        l10n.ngettext("{count} event so far", "{count} events so far", facts["count"]).format(
            count=l10n.format_number(facts["count"])
        )
    )
    first_seen = datetime.fromtimestamp(facts["first_seen"], UTC)
    lines.append(_(FIRST_SEEN).format(when=l10n.format_datetime(first_seen)))
    project = one_line(facts["project"], 200)
    return AlertText(
        kind=kind,
        project=project,
        title=one_line(facts["title"]),
        headline=_(IN_PROJECT).format(kind=kind, project=project),
        facts=lines,
        url=issue_url,
        open_label=_(OPEN_ISSUE),
    )
