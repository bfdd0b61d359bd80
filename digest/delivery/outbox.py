"""The outbox transport: one ``.eml`` file per message, written atomically.

File names are derived from the edition and the subscriber, so writing the same
message twice replaces the file instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from digest.delivery.mime import build_mime
from digest.delivery.transport import Envelope
from digest.errors import DeliveryError
from digest.models import RenderedMessage


class OutboxTransport:
    """Writes one ``.eml`` per recipient; rewriting a file is harmless, so a batch
    cut short by a crash is simply written again."""

    max_recipients = 100
    idempotent = True

    def __init__(
        self,
        directory: Path,
        *,
        from_email: str,
        from_name: str,
        clock: Callable[[], datetime],
        reply_to: str | None = None,
    ) -> None:
        self.directory = directory
        self.from_email = from_email
        self.from_name = from_name
        self.reply_to = reply_to
        self.clock = clock

    def path_for(self, message: RenderedMessage) -> Path:
        local = re.sub(r"[^a-z0-9]+", "-", message.to.email.split("@")[0].lower()).strip("-")[:40]
        tag = hashlib.sha256(message.to.email.lower().encode()).hexdigest()[:8]
        edition = message.edition_key.replace("/", "-")
        return self.directory / f"{edition}-{local}-{tag}.eml"

    def send(self, envelope: Envelope) -> str:
        ids = [self.write(message) for message in envelope.messages()]
        return ids[0] if len(ids) == 1 else f"{ids[0]}+{len(ids) - 1}"

    def write(self, message: RenderedMessage) -> str:
        mime = build_mime(
            message,
            from_email=self.from_email,
            from_name=self.from_name,
            now=self.clock(),
            reply_to=self.reply_to,
        )
        path = self.path_for(message)
        tmp = path.with_suffix(".eml.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as handle:
                handle.write(mime.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc.strerror}") from None
        return str(mime["Message-ID"])
