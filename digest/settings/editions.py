"""Settings of editions: schedule, sections, caps, look."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from digest.language.tags import primary
from digest.settings.fields import NAME, Frozen, check_language, check_timezone


class ScheduleSettings(Frozen):
    cron: str
    timezone: str = "UTC"

    _tz = field_validator("timezone")(lambda v: check_timezone(v))

    @model_validator(mode="after")
    def _cron(self) -> ScheduleSettings:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.cron, timezone=ZoneInfo(self.timezone))
        except ValueError as exc:
            raise ValueError(f"bad cron expression {self.cron!r}: {exc}") from None
        return self


_DURATION = re.compile(r"\s*(\d{1,5})\s*(m|min|h|d)\s*")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def _duration(value: str) -> timedelta | None:
    """'90m', '6h', '1d' as a time span; None when it is not one."""
    found = _DURATION.fullmatch(value)
    if found is None or int(found.group(1)) == 0:
        return None
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


# Names an edition cannot take: they are the addresses of pages beside /signup/NAME
# and /editions/NAME, or the wildcard of subscriptions ("*": every edition).
RESERVED_NAMES = frozenset({"confirm", "feed.xml", "feed.json", "all", "everything"})


class SectionSettings(Frozen):
    name: str = Field(min_length=1)
    description: str = ""
    # One list for stories in any language, or a table of lists by language tag:
    # keywords = { en = ["football"], es = ["fútbol"] }.
    keywords: tuple[str, ...] | dict[str, tuple[str, ...]] = ()

    @field_validator("keywords")
    @classmethod
    def _languages(
        cls, value: tuple[str, ...] | dict[str, tuple[str, ...]]
    ) -> tuple[str, ...] | dict[str, tuple[str, ...]]:
        if isinstance(value, dict):
            for tag in value:
                check_language(tag)
        return value

    def keywords_for(self, language: str) -> tuple[str, ...]:
        """The keywords of stories in ``language`` (a primary tag): the list, or the
        table's entry for the language; every entry when the table has none."""
        if not isinstance(self.keywords, dict):
            return self.keywords
        own = [words for tag, words in self.keywords.items() if primary(tag) == language]
        chosen = own or list(self.keywords.values())
        return tuple(dict.fromkeys(word for words in chosen for word in words))


class EditionSettings(Frozen):
    name: str
    title: str
    subject: str = "{title} — {date}"
    schedule: ScheduleSettings = ScheduleSettings(cron="0 7 * * *")
    sections: tuple[SectionSettings, ...] = ()
    # The fallback section's name; None: "Other" in the edition's language.
    other_section: str | None = None
    # The language of the edition's chrome (email, web version, its pages, the
    # subject's {long_date}) and of its articles that have no language of their own.
    language: str = "en"
    max_stories: int = Field(default=20, ge=1)
    max_per_section: int = Field(default=6, ge=1)
    lookback_hours: int = Field(default=48, ge=1)
    summary_words: int = Field(default=60, ge=10)
    preheader: str = ""
    # Deliver at the schedule's time in each subscriber's own time zone ("07:00
    # wherever you are"); the edition is built once per date, by the first group.
    local_time: bool = False
    theme: Literal["classic", "paper"] = "classic"
    # Held (never sent, by the scheduler or `digest send`) until an editor approves it.
    requires_approval: bool = False
    # Until when an unfinished send is resumed by itself (catch-up): "end-of-period"
    # (local midnight after the edition's date), or a duration after the due time
    # ("90m", "6h", "1d"). Past it the rest stays undelivered, and monitoring says so.
    deliver_until: str = "end-of-period"
    # The [[sources]] this edition draws on, by name; None: every source.
    sources: tuple[str, ...] | None = None

    @field_validator("deliver_until")
    @classmethod
    def _deliver_until(cls, value: str) -> str:
        if value != "end-of-period" and _duration(value) is None:
            raise ValueError(
                f"{value!r}: use 'end-of-period' or a duration such as '90m', '6h', '1d'"
            )
        return value

    def deadline(self, period: str, timezone: str | None, due: datetime | None) -> datetime:
        """The moment after which catch-up stops resuming the send of ``period``: a
        duration after ``due``, else (and without a due time) the end of the period
        in ``timezone`` (a delivery group's) or the edition's own."""
        after = _duration(self.deliver_until)
        if after is not None and due is not None:
            return due.astimezone(UTC) + after
        zone = ZoneInfo(timezone or self.schedule.timezone)
        end = datetime.combine(date.fromisoformat(period) + timedelta(days=1), time(0), zone)
        return end.astimezone(UTC)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, '-' or '_'")
        if value in RESERVED_NAMES:
            raise ValueError(f"{value!r} is reserved (a page's address); choose another name")
        return value

    def draws_on(self, source: str) -> bool:
        """Whether this edition carries articles of ``source``."""
        return self.sources is None or source in self.sources

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        try:
            value.format(title="t", date="d", name="n", long_date="l")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"subject may use {{title}}, {{date}}, {{long_date}}, {{name}} only: {exc}"
            ) from None
        return value

    _language = field_validator("language")(lambda v: check_language(v))
