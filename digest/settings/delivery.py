"""Settings of the subscriber list, of delivery (transports) and of the bounce mailbox."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from digest.settings.fields import Frozen, check_email, resolve_path


class SubscribersSettings(Frozen):
    file: Path = Path("subscribers.csv")

    _resolve_file = field_validator("file")(lambda v, info: resolve_path(v, info))


class SendGridSettings(Frozen):
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


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address: the only hosts spoken to without TLS."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpSettings(Frozen):
    """An SMTP relay (any provider, a company's own server, a local mail catcher)."""

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)  # 587, 465 with tls, 25 with none
    # starttls: upgrade on the submission port; tls: TLS from the first byte (465);
    # none: plain text, only to a loopback address (a local catcher or relay).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None  # from SMTP_PASSWORD only
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    connections: int = Field(default=4, ge=1, le=32)
    messages_per_connection: int = Field(default=100, ge=1, le=100_000)
    return_path: str | None = None  # the envelope sender (where bounces go)
    verp: bool = False  # return_path as local+recipient=domain@host, per message
    tls_verify: bool = True
    ca_file: Path | None = None  # a private CA's certificate, in PEM

    _resolve_ca = field_validator("ca_file")(
        lambda v, info: resolve_path(v, info) if v is not None else None
    )
    _return_path = field_validator("return_path")(
        lambda v: check_email(v) if v is not None else None
    )

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> SmtpSettings:
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError(
                f"security 'none' sends passwords and mail in clear text; it is allowed "
                f"only to a loopback address, not {self.host!r} (use starttls or tls)"
            )
        if self.verp and self.return_path is None:
            raise ValueError("verp needs a return_path (e.g. bounces@example.org)")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


class BouncesSettings(Frozen):
    """Where delivery status notifications and complaint reports arrive (SMTP delivery):
    a Maildir folder or an IMAP mailbox."""

    maildir: Path | None = None
    imap_url: str | None = None  # imaps://user@host[:port]/MAILBOX
    password: SecretStr | None = None  # from BOUNCES_PASSWORD only
    soft_bounce_limit: int = Field(default=3, ge=1, le=50)  # in a row, then suppressed
    every_minutes: int = Field(default=15, ge=1, le=24 * 60)  # the scheduler's job
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    ca_file: Path | None = None  # a private CA's certificate, in PEM

    _resolve_paths = field_validator("maildir", "ca_file")(
        lambda v, info: resolve_path(v, info) if v is not None else None
    )

    @field_validator("imap_url")
    @classmethod
    def _imap_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError(f"{value!r} is not imaps://USER@HOST[:PORT]/MAILBOX")
        if parts.scheme == "imap" and not is_loopback(parts.hostname):
            raise ValueError("imap:// (no TLS) is allowed only to a loopback address; use imaps://")
        return value

    @model_validator(mode="after")
    def _one_mailbox(self) -> BouncesSettings:
        if (self.maildir is None) == (self.imap_url is None):
            raise ValueError("set one of maildir or imap_url")
        return self


class DeliverySettings(Frozen):
    transport: Literal["outbox", "sendgrid", "smtp", "memory"] = "outbox"
    from_email: str = "digest@localhost.example"
    from_name: str = "Digest"
    reply_to: str | None = None
    outbox_dir: Path = Path("../outbox")
    batch_size: int = Field(default=1000, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, le=20)
    max_per_second: float | None = Field(default=None, gt=0)
    sendgrid: SendGridSettings = SendGridSettings()
    smtp: SmtpSettings | None = None

    _from = field_validator("from_email")(lambda v: check_email(v))
    _resolve_outbox = field_validator("outbox_dir")(lambda v, info: resolve_path(v, info))

    @model_validator(mode="after")
    def _smtp_table(self) -> DeliverySettings:
        if self.transport == "smtp" and self.smtp is None:
            raise ValueError("transport 'smtp' needs a [delivery.smtp] table with a host")
        return self
