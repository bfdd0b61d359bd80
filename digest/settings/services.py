"""Settings of the services around the pipeline: storage, the web app, summaries,
the scheduler and logging."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from digest.settings.editions import ScheduleSettings
from digest.settings.fields import HTTP_URL, Frozen, check_email, check_language, resolve_path


class StorageSettings(Frozen):
    url: str = "sqlite:///../var/digest.db"

    @field_validator("url")
    @classmethod
    def _sqlite_relative(cls, value: str, info: ValidationInfo) -> str:
        # sqlite:///relative/path is relative to the config file, like every other path.
        prefix = "sqlite:///"
        if value.startswith(prefix) and not value.startswith(prefix + "/"):
            rest = value[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str(resolve_path(Path(rest), info))
        if "://" not in value:
            raise ValueError(f"{value!r} is not an SQLAlchemy URL (e.g. sqlite:///var/digest.db)")
        return value


class WebSettings(Frozen):
    base_url: str = "https://digest.example.org"
    secret_key: SecretStr | None = None  # from DIGEST_SECRET_KEY only
    postal_address: str = ""
    editions_dir: Path = Path("../var/web")  # the web version of each edition
    # The language of the pages that belong to no one edition (/signup, the archive,
    # preferences); an edition's own pages speak its language.
    language: str = "en"

    _resolve_editions = field_validator("editions_dir")(lambda v, info: resolve_path(v, info))
    _language = field_validator("language")(lambda v: check_language(v))

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an absolute http(s) URL")
        return value.rstrip("/")


class LLMSettings(Frozen):
    """An OpenAI-compatible chat-completions endpoint for the optional LLM summaries."""

    url: str
    model: str = Field(min_length=1)
    api_key: SecretStr | None = None  # from DIGEST_LLM_API_KEY only
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_tokens_per_edition: int = Field(default=50_000, ge=1000)
    max_answer_tokens: int = Field(default=200, ge=50)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class SummariesSettings(Frozen):
    mode: Literal["extractive", "llm"] = "extractive"
    llm: LLMSettings | None = None
    # Extractive summaries (chosen by `make eval` on held-out halves of the dev sets):
    # a sentence whose content words are more than `redundancy` covered by the chosen
    # ones says nothing new; `lead_weight` is the bonus of a report's first sentences.
    redundancy: float = Field(default=0.5, gt=0.0, le=1.0)
    lead_weight: float = Field(default=0.0, ge=0.0, le=5.0)

    @model_validator(mode="after")
    def _llm_needs_endpoint(self) -> SummariesSettings:
        if self.mode == "llm" and self.llm is None:
            raise ValueError("mode 'llm' needs a [summaries.llm] table with url and model")
        return self


class StoriesSettings(Frozen):
    """How articles merge into stories (digest.stories.grouping; chosen by `make eval`)."""

    # The similarity cut where retellings are usual; it rises where they are rare.
    merge_threshold: float = Field(default=0.44, gt=0.05, lt=0.95)
    # How much the cut rises where the collection rarely retells its events.
    rarity_power: float = Field(default=0.5, ge=0.0, le=3.0)


DEFAULT_SUMMARIES = SummariesSettings()
DEFAULT_STORIES = StoriesSettings()


class SchedulerSettings(Frozen):
    """`digest scheduler`: collection on its own schedule, editions on theirs."""

    collect: ScheduleSettings | None = ScheduleSettings(cron="0 * * * *")
    # A run that missed its time by less than this still happens; later, it is skipped
    # (no stale edition after a day of downtime).
    misfire_grace_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Fire this much before an edition is due, so SendGrid can hold its batches until
    # the due time (cancellable); None: min_lead_minutes + 5 with SendGrid, 0 otherwise.
    lead_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    lease_seconds: int = Field(default=60, ge=5, le=3600)
    # The lease of one sender of an edition (`digest run`, `digest send`, a scheduled
    # run, catch-up), renewed every third of it while the work goes on: a holder that
    # dies (or is paused) longer than this loses the edition to another process.
    edition_lease_seconds: int = Field(default=30, ge=5, le=600)
    # How often the active scheduler looks for unfinished editions to resume.
    catch_up_seconds: int = Field(default=30, ge=5, le=60)


class AlertsSettings(Frozen):
    """Who is told when something needs attention, and when an unfinished edition
    counts as late. Alerts fire once per problem; the log says when it is resolved."""

    email: str | None = None  # sent through the configured transport, outside the ledger
    webhook_url: str | None = None  # a JSON POST, retried
    grace_minutes: int = Field(default=15, ge=1, le=24 * 60)  # after the due time
    source_failures: int = Field(default=3, ge=1, le=100)  # runs in a row

    _email = field_validator("email")(lambda v: check_email(v) if v is not None else None)

    @field_validator("webhook_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class LoggingSettings(Frozen):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
