"""What every settings table shares: the frozen base model, paths relative to the
config file, and the checks of addresses, time zones, URLs and language tags."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, ValidationInfo

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Frozen(BaseModel):
    # validate_default: defaults pass the validators too, so a default relative path
    # is resolved against the config file like a written one.
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


HTTP_URL = re.compile(r"^https?://[^\s/]+")  # what a URL setting must start with


def is_http_url(value: str) -> bool:
    """An http(s) URL with a host, and no space or control character anywhere."""
    return bool(HTTP_URL.match(value)) and not re.search(r"[\x00-\x20\x7f]", value)


LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")  # "en", "pt-BR"


def check_language(value: str) -> str:
    """A BCP 47 language tag ("es", "pt-BR"); ValueError otherwise."""
    if not LANGUAGE_TAG.fullmatch(value):
        raise ValueError(f"{value!r} is not a language tag (e.g. 'es', 'pt-BR')")
    return value


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
