"""Settings of editions: schedule, sections, caps, look."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from digest.settings.fields import NAME, Frozen, check_timezone


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


class SectionSettings(Frozen):
    name: str = Field(min_length=1)
    description: str = ""
    keywords: tuple[str, ...] = ()


class EditionSettings(Frozen):
    name: str
    title: str
    subject: str = "{title} — {date}"
    schedule: ScheduleSettings = ScheduleSettings(cron="0 7 * * *")
    sections: tuple[SectionSettings, ...] = ()
    other_section: str = "Other"
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

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, '-' or '_'")
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        try:
            value.format(title="t", date="d", name="n")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"subject may use {{title}}, {{date}}, {{name}} only: {exc}") from None
        return value
