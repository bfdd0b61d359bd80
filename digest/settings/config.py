"""Settings: the TOML config plus the environment, loaded once at the edge.

``load_settings(path, environ)`` returns a frozen :class:`Settings`; components get it
(or the part they need) passed down. Nothing below this module reads ``os.environ``.
Relative paths in a config file are relative to that file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from digest.errors import ConfigError

DEFAULT_CONFIG = Path("config/digest.toml")
CONFIG_ENV = "DIGEST_CONFIG"
SENDGRID_KEY_ENV = "SENDGRID_API_KEY"
SECRET_KEY_ENV = "DIGEST_SECRET_KEY"
LLM_KEY_ENV = "DIGEST_LLM_API_KEY"
DATABASE_URL_ENV = "DIGEST_DATABASE_URL"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class _Frozen(BaseModel):
    # validate_default: defaults pass the validators too, so a default relative path
    # is resolved against the config file like a written one.
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


HTTP_URL = re.compile(r"^https?://[^\s/]+")  # what a URL setting must start with
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")  # "en", "pt-BR"


def check_email(value: str) -> str:
    """Normalise an address; no DNS look-up. Raises ValueError with the reason."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from None


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'Europe/Madrid')") from None
    return value


class SourceSettings(_Frozen):
    """One place articles come from."""

    name: str = Field(min_length=1)
    kind: Literal["feed", "folder", "page"]
    url: str | None = None
    path: Path | None = None
    topic: str | None = None
    limit: int | None = Field(default=None, ge=1)
    enabled: bool = True
    # Multiplies the ranking score of the stories this source tells (the highest
    # weight among a story's sources counts): 2 ranks them as if told twice as widely.
    weight: float = Field(default=1.0, ge=0.1, le=10.0)
    # Allow fetching from loopback or private addresses (an intranet feed, a test host).
    local: bool = False
    # Feeds: for an item that carries only a teaser, fetch the linked page and use its
    # main text (the teaser stays when that fails, and the run report says why).
    full_text: bool = False
    # A BCP 47 tag ("en", "pt-BR") kept on the articles; else the feed's or page's own.
    language: str | None = None

    _resolve_path = field_validator("path")(
        lambda v, info: _resolve(v, info) if v is not None else None
    )

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL (use 'path' for a local file)")
        return value

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a language tag (e.g. 'en', 'pt-BR')")
        return value

    @model_validator(mode="after")
    def _location(self) -> SourceSettings:
        if self.kind == "folder" and self.path is None:
            raise ValueError(f"source {self.name!r}: a folder source needs 'path'")
        if self.kind == "page" and self.url is None:
            raise ValueError(f"source {self.name!r}: a page source needs 'url'")
        if self.kind == "feed" and (self.url is None) == (self.path is None):
            raise ValueError(f"source {self.name!r}: a feed source needs one of 'url' or 'path'")
        if self.full_text and self.kind != "feed":
            raise ValueError(f"source {self.name!r}: full_text applies to feed sources only")
        return self

    @property
    def location(self) -> str:
        return self.url or str(self.path)


class ScheduleSettings(_Frozen):
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


class SectionSettings(_Frozen):
    name: str = Field(min_length=1)
    description: str = ""
    keywords: tuple[str, ...] = ()


class EditionSettings(_Frozen):
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
        if not _NAME.match(value):
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


class SubscribersSettings(_Frozen):
    file: Path = Path("subscribers.csv")

    _resolve_file = field_validator("file")(lambda v, info: _resolve(v, info))


class SendGridSettings(_Frozen):
    api_url: str = "https://api.sendgrid.com"
    api_key: SecretStr | None = None  # from SENDGRID_API_KEY only
    timeout_seconds: float = Field(default=30.0, gt=0)
    sandbox_mode: bool = False
    categories: tuple[str, ...] = Field(default=(), max_length=8)
    asm_group_id: int | None = None
    # A batch due at least this far ahead is submitted with send_at and a batch id,
    # so an ambiguous request can be cancelled and resubmitted: exactly once.
    min_lead_minutes: int = Field(default=10, ge=3, le=72 * 60)
    # The Event Webhook's verification key (base64 DER, as SendGrid shows it).
    webhook_public_key: str | None = None


class DeliverySettings(_Frozen):
    transport: Literal["outbox", "sendgrid", "memory"] = "outbox"
    from_email: str = "digest@localhost.example"
    from_name: str = "Digest"
    reply_to: str | None = None
    outbox_dir: Path = Path("../outbox")
    batch_size: int = Field(default=1000, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_per_second: float | None = Field(default=None, gt=0)
    sendgrid: SendGridSettings = SendGridSettings()

    _from = field_validator("from_email")(lambda v: check_email(v))
    _resolve_outbox = field_validator("outbox_dir")(lambda v, info: _resolve(v, info))


class StorageSettings(_Frozen):
    url: str = "sqlite:///../var/digest.db"

    @field_validator("url")
    @classmethod
    def _sqlite_relative(cls, value: str, info: ValidationInfo) -> str:
        # sqlite:///relative/path is relative to the config file, like every other path.
        prefix = "sqlite:///"
        if value.startswith(prefix) and not value.startswith(prefix + "/"):
            rest = value[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str(_resolve(Path(rest), info))
        if "://" not in value:
            raise ValueError(f"{value!r} is not an SQLAlchemy URL (e.g. sqlite:///var/digest.db)")
        return value


class WebSettings(_Frozen):
    base_url: str = "https://digest.example.org"
    secret_key: SecretStr | None = None  # from DIGEST_SECRET_KEY only
    postal_address: str = ""
    editions_dir: Path = Path("../var/web")  # the web version of each edition

    _resolve_editions = field_validator("editions_dir")(lambda v, info: _resolve(v, info))

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an absolute http(s) URL")
        return value.rstrip("/")


class LLMSettings(_Frozen):
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


class SummariesSettings(_Frozen):
    mode: Literal["extractive", "llm"] = "extractive"
    llm: LLMSettings | None = None

    @model_validator(mode="after")
    def _llm_needs_endpoint(self) -> SummariesSettings:
        if self.mode == "llm" and self.llm is None:
            raise ValueError("mode 'llm' needs a [summaries.llm] table with url and model")
        return self


class SchedulerSettings(_Frozen):
    """`digest scheduler`: collection on its own schedule, editions on theirs."""

    collect: ScheduleSettings | None = ScheduleSettings(cron="0 * * * *")
    # A run that missed its time by less than this still happens; later, it is skipped
    # (no stale edition after a day of downtime).
    misfire_grace_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Fire this much before an edition is due, so SendGrid can hold its batches until
    # the due time (cancellable); None: min_lead_minutes + 5 with SendGrid, 0 otherwise.
    lead_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    lease_seconds: int = Field(default=60, ge=5, le=3600)


class FetchingSettings(_Frozen):
    """How sources are fetched over HTTP."""

    max_concurrency: int = Field(default=32, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=32)
    per_host_delay_seconds: float = Field(default=0.0, ge=0)
    retries: int = Field(default=2, ge=0, le=10)
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)


class LoggingSettings(_Frozen):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Frozen):
    """Everything the program is configured with."""

    config_path: Path
    name: str = "digest"
    templates_dir: Path = Path("../templates")
    var_dir: Path = Path("../var")
    sources: tuple[SourceSettings, ...] = ()
    editions: tuple[EditionSettings, ...] = Field(min_length=1)
    subscribers: SubscribersSettings = SubscribersSettings()
    delivery: DeliverySettings = DeliverySettings()
    storage: StorageSettings = StorageSettings()
    web: WebSettings = WebSettings()
    summaries: SummariesSettings = SummariesSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    fetching: FetchingSettings = FetchingSettings()
    logging: LoggingSettings = LoggingSettings()

    _resolve_dirs = field_validator("templates_dir", "var_dir")(lambda v, info: _resolve(v, info))

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for what, names in (
            ("sources", [s.name for s in self.sources]),
            ("editions", [e.name for e in self.editions]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what}: duplicate name(s) {', '.join(dupes)}")
        return self

    @property
    def source_weights(self) -> dict[str, float]:
        """Each source's ranking weight, by name."""
        return {source.name: source.weight for source in self.sources}

    def edition(self, name: str | None) -> EditionSettings:
        """The named edition, or the first one when ``name`` is None."""
        if name is None:
            return self.editions[0]
        for edition in self.editions:
            if edition.name == name:
                return edition
        known = ", ".join(e.name for e in self.editions)
        raise ConfigError(
            f"no edition named {name!r} (configured: {known})", path=str(self.config_path)
        )

    @property
    def lead_minutes(self) -> int:
        """How long before an edition is due the scheduler starts it."""
        if self.scheduler.lead_minutes is not None:
            return self.scheduler.lead_minutes
        if self.delivery.transport == "sendgrid":
            return self.delivery.sendgrid.min_lead_minutes + 5
        return 0

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets replaced by '********'."""
        return self.model_dump(mode="json")  # SecretStr dumps as '**********'


def config_path(explicit: str | Path | None, environ: Mapping[str, str]) -> Path:
    """Where the config lives: the explicit option, then $DIGEST_CONFIG, then the default."""
    if explicit:
        return Path(explicit)
    return Path(environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_settings(path: str | Path, environ: Mapping[str, str]) -> Settings:
    """Read ``path`` and the environment into validated, frozen settings.

    Raises :class:`ConfigError` naming the file and the field on any problem.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file not found", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from None

    for forbidden, env in (
        (("delivery", "sendgrid", "api_key"), SENDGRID_KEY_ENV),
        (("web", "secret_key"), SECRET_KEY_ENV),
        (("summaries", "llm", "api_key"), LLM_KEY_ENV),
    ):
        node: Any = raw
        for key in forbidden[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and forbidden[-1] in node:
            raise ConfigError(
                f"secrets are not read from the config file; set ${env} instead",
                path=str(path),
                field=".".join(forbidden),
            )

    raw = dict(raw)
    raw["config_path"] = str(path.resolve())
    # Tables left out are validated from {} so their defaults resolve against this file.
    for table in ("subscribers", "delivery", "storage", "web", "summaries", "scheduler"):
        raw.setdefault(table, {})
    if environ.get(SENDGRID_KEY_ENV):
        delivery = dict(raw.get("delivery", {}))
        delivery["sendgrid"] = {
            **delivery.get("sendgrid", {}),
            "api_key": environ[SENDGRID_KEY_ENV],
        }
        raw["delivery"] = delivery
    if environ.get(SECRET_KEY_ENV):
        raw["web"] = {**raw.get("web", {}), "secret_key": environ[SECRET_KEY_ENV]}
    llm = raw.get("summaries", {}).get("llm") if isinstance(raw.get("summaries"), dict) else None
    if environ.get(LLM_KEY_ENV) and isinstance(llm, dict):
        raw["summaries"] = {**raw["summaries"], "llm": {**llm, "api_key": environ[LLM_KEY_ENV]}}
    if environ.get(DATABASE_URL_ENV):
        raw["storage"] = {**raw.get("storage", {}), "url": environ[DATABASE_URL_ENV]}

    try:
        settings = Settings.model_validate(raw, context={"base_dir": path.resolve().parent})
    except ValidationError as exc:
        errors = exc.errors()
        # A bad edition also empties the tuple, which adds a misleading "at least 1 item".
        specific = [e for e in errors if not (e["type"] == "too_short" and len(e["loc"]) == 1)]
        errors = specific or errors
        first = errors[0]
        problems = "; ".join(
            f"{_location(err['loc']) or '(top level)'}: {_message(err)}" for err in errors
        )
        raise ConfigError(problems, path=str(path), field=_location(first["loc"]) or None) from None

    if settings.delivery.transport == "sendgrid" and settings.delivery.sendgrid.api_key is None:
        raise ConfigError(
            f"transport 'sendgrid' needs the API key in ${SENDGRID_KEY_ENV}",
            path=str(path),
            field="delivery.transport",
        )
    return settings


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")
