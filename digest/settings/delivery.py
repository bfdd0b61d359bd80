"""Settings of the subscriber list and of delivery (transports)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

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


class DeliverySettings(Frozen):
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
    _resolve_outbox = field_validator("outbox_dir")(lambda v, info: resolve_path(v, info))
