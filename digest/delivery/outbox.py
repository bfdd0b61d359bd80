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

from digest.delivery.mime import MimeTemplate, Sender
from digest.delivery.transport import Envelope
from digest.errors import DeliveryError


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
        self.sender = Sender(from_email, from_name, reply_to)
        self.clock = clock

    def path_for(self, edition_key: str, email: str) -> Path:
        local = re.sub(r"[^a-z0-9]+", "-", email.split("@")[0].lower()).strip("-")[:40]
        tag = hashlib.sha256(email.lower().encode()).hexdigest()[:8]
        return self.directory / f"{edition_key.replace('/', '-')}-{local}-{tag}.eml"

    def send(self, envelope: Envelope) -> str:
        # Files on disk end lines with LF, as mail tools expect of an .eml.
        template = MimeTemplate(envelope.rendered, self.sender, linesep=b"\n")
        ids = []
        for r in envelope.recipients:
            wire = template.build(r.subscriber, r.unsubscribe_url, r.preferences_url, self.clock())
            self.write(self.path_for(envelope.rendered.edition_key, r.subscriber.email), wire.data)
            ids.append(wire.message_id)
        return ids[0] if len(ids) == 1 else f"{ids[0]}+{len(ids) - 1}"

    def write(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(".eml.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc.strerror}") from None
