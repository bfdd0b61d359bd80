"""Settings: the TOML config plus the environment, loaded once at the edge.

``load_settings(path, environ)`` returns a frozen :class:`Settings`; components get it
(or the part they need) passed down. Nothing below this module reads ``os.environ``.
Relative paths in a config file are relative to that file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from digest.errors import ConfigError
from digest.language.catalogues import has_catalogue, languages, messages
from digest.settings.delivery import BouncesSettings, DeliverySettings, SubscribersSettings
from digest.settings.editions import EditionSettings, SectionSettings
from digest.settings.fields import Frozen, resolve_path
from digest.settings.services import (
    AlertsSettings,
    LoggingSettings,
    SchedulerSettings,
    StorageSettings,
    StoriesSettings,
    SummariesSettings,
    WebSettings,
)
from digest.settings.sources import FetchingSettings, SourceSettings
from digest.tokens import MIN_KEY_BYTES

DEFAULT_CONFIG = Path("config/digest.toml")
CONFIG_ENV = "DIGEST_CONFIG"
SENDGRID_KEY_ENV = "SENDGRID_API_KEY"
SECRET_KEY_ENV = "DIGEST_SECRET_KEY"
LLM_KEY_ENV = "DIGEST_LLM_API_KEY"
DATABASE_URL_ENV = "DIGEST_DATABASE_URL"
SMTP_PASSWORD_ENV = "SMTP_PASSWORD"
BOUNCES_PASSWORD_ENV = "BOUNCES_PASSWORD"


class Settings(Frozen):
    """Everything the program is configured with."""

    config_path: Path
    name: str = "digest"
    templates_dir: Path = Path("../templates")
    # A deployment's own catalogues: locales/<lang>/LC_MESSAGES/digest.po adds a
    # language (or rewords one) without touching the package.
    locales_dir: Path = Path("../locales")
    var_dir: Path = Path("../var")
    sources: tuple[SourceSettings, ...] = ()
    editions: tuple[EditionSettings, ...] = Field(min_length=1)
    subscribers: SubscribersSettings = SubscribersSettings()
    delivery: DeliverySettings = DeliverySettings()
    storage: StorageSettings = StorageSettings()
    web: WebSettings = WebSettings()
    summaries: SummariesSettings = SummariesSettings()
    stories: StoriesSettings = StoriesSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    fetching: FetchingSettings = FetchingSettings()
    logging: LoggingSettings = LoggingSettings()
    alerts: AlertsSettings = AlertsSettings()
    bounces: BouncesSettings | None = None

    _resolve_dirs = field_validator("templates_dir", "locales_dir", "var_dir")(
        lambda v, info: resolve_path(v, info)
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for what, names in (
            ("sources", [s.name for s in self.sources]),
            ("editions", [e.name for e in self.editions]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what}: duplicate name(s) {', '.join(dupes)}")
        known = {s.name for s in self.sources}
        for edition in self.editions:
            unknown = [n for n in edition.sources or () if n not in known]
            if unknown:
                raise ValueError(
                    f"edition {edition.name!r}: sources {', '.join(map(repr, unknown))} "
                    "are not [[sources]] names"
                )
        return self

    @model_validator(mode="after")
    def _catalogues(self) -> Settings:
        """Every language the chrome is shown in has a catalogue that can be read."""
        wanted = [(f"edition {e.name!r}", e.language) for e in self.editions]
        for where, tag in [*wanted, ("[web] language", self.web.language)]:
            if not has_catalogue(tag, self.locales_dir):
                have = ", ".join(sorted(languages(self.locales_dir)))
                raise ValueError(
                    f"{where}: no catalogue for language {tag!r} (there are: {have}); add "
                    f"{self.locales_dir / tag.replace('-', '_') / 'LC_MESSAGES' / 'digest.po'}"
                )
            try:
                messages(tag, self.locales_dir)
            except ConfigError as exc:
                raise ValueError(f"{where}: {exc}") from None
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

    def edition_or_default(self, name: str) -> EditionSettings:
        """The settings of a stored edition's name; when it is no longer configured, a
        stand-in with the defaults (no preheader, the classic theme, no approval)."""
        found = next((e for e in self.editions if e.name == name), None)
        return found or EditionSettings(
            name=name, title=name, sections=(SectionSettings(name="Other"),)
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
    raw = _read_toml(path)
    _refuse_secrets(raw, path)
    raw = _with_environment(raw, environ)
    raw["config_path"] = str(path.resolve())
    settings = _validate(raw, path)
    secret = settings.web.secret_key
    if secret is not None and len(secret.get_secret_value().encode()) < MIN_KEY_BYTES:
        raise ConfigError(
            f"${SECRET_KEY_ENV} is {len(secret.get_secret_value().encode())} bytes long; it must "
            f"be at least {MIN_KEY_BYTES} (for example 64 hex digits: "
            "python3 -c 'import secrets; print(secrets.token_hex(32))')",
            path=str(path),
            field=SECRET_KEY_ENV,
        )
    if settings.delivery.transport == "sendgrid" and settings.delivery.sendgrid.api_key is None:
        raise ConfigError(
            f"transport 'sendgrid' needs the API key in ${SENDGRID_KEY_ENV}",
            path=str(path),
            field="delivery.transport",
        )
    _check_passwords(settings, path)
    return settings


def _check_passwords(settings: Settings, path: Path) -> None:
    """A user name without its password (or the other way round) is a config error."""
    smtp = settings.delivery.smtp
    if smtp is not None and (smtp.username is None) != (smtp.password is None):
        missing = f"${SMTP_PASSWORD_ENV}" if smtp.password is None else "a username"
        raise ConfigError(
            f"SMTP authentication needs both a username and ${SMTP_PASSWORD_ENV}; {missing} "
            "is missing",
            path=str(path),
            field="delivery.smtp.username",
        )
    bounces = settings.bounces
    if bounces is not None and bounces.imap_url is not None and bounces.password is None:
        raise ConfigError(
            f"the bounce mailbox {bounces.imap_url} needs its password in ${BOUNCES_PASSWORD_ENV}",
            path=str(path),
            field="bounces.imap_url",
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file not found", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from None


SECRETS = (
    (("delivery", "sendgrid", "api_key"), SENDGRID_KEY_ENV),
    (("web", "secret_key"), SECRET_KEY_ENV),
    (("summaries", "llm", "api_key"), LLM_KEY_ENV),
    (("delivery", "smtp", "password"), SMTP_PASSWORD_ENV),
    (("bounces", "password"), BOUNCES_PASSWORD_ENV),
)


def _refuse_secrets(raw: dict[str, Any], path: Path) -> None:
    """Secrets come from the environment only: one in the file is an error."""
    for forbidden, env in SECRETS:
        node: Any = raw
        for key in forbidden[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and forbidden[-1] in node:
            raise ConfigError(
                f"secrets are not read from the config file; set ${env} instead",
                path=str(path),
                field=".".join(forbidden),
            )


def _with_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The file's tables with the secrets and overrides of the environment put in."""
    raw = dict(raw)
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
    return _with_mail_passwords(raw, environ)


def _with_mail_passwords(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The SMTP and bounce-mailbox passwords, into the tables that configure them."""
    mail: Any = raw.get("delivery")
    smtp = mail.get("smtp") if isinstance(mail, dict) else None
    if environ.get(SMTP_PASSWORD_ENV) and isinstance(mail, dict) and isinstance(smtp, dict):
        raw["delivery"] = {**mail, "smtp": {**smtp, "password": environ[SMTP_PASSWORD_ENV]}}
    bounces = raw.get("bounces")
    if environ.get(BOUNCES_PASSWORD_ENV) and isinstance(bounces, dict):
        raw["bounces"] = {**bounces, "password": environ[BOUNCES_PASSWORD_ENV]}
    return raw


def _validate(raw: dict[str, Any], path: Path) -> Settings:
    try:
        return Settings.model_validate(raw, context={"base_dir": path.resolve().parent})
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


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")
