"""One exception tree for the whole package.

Expected failures derive from :class:`DigestError`; the CLI turns them into a short
message and an exit code, without a traceback.
"""

from __future__ import annotations

from datetime import datetime


class DigestError(Exception):
    """Base class of every expected failure."""

    exit_code = 1


class ConfigError(DigestError):
    """The configuration (TOML, CSV or environment) is invalid.

    The message names the file and the field; nothing is collected, built or sent.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        where = ", ".join(part for part in (path, f"field {field}" if field else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.field = field


class SourceError(DigestError):
    """One source could not be read. Recorded in the run report; the run goes on."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source
        self.reason = message


class ExtractionError(DigestError):
    """One document yielded no usable article (no text, binary content ...)."""


class RenderError(DigestError):
    """A template could not be rendered or compiled: the edition is not sent."""


class DeliveryError(DigestError):
    """A message could not be handed to the transport."""


class AmbiguousDeliveryError(DeliveryError):
    """The message may or may not have been accepted (a timeout after sending):
    never retried silently, since the provider has no idempotency key."""


class TransportAuthError(DeliveryError):
    """The provider refused our credentials: the whole send stops."""


class TransportSetupError(TransportAuthError):
    """The transport cannot be used as configured (an SMTP server that offers no
    STARTTLS, a certificate that does not match, a port where no SMTP server answers,
    a sender the server refuses): the whole send stops, as on refused credentials."""


class RateLimited(DeliveryError):
    """The provider asked us to wait until ``retry_at`` (epoch seconds); nothing was sent."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class TransientDeliveryError(DeliveryError):
    """A failure worth retrying with backoff. ``maybe_sent`` is True when the provider
    may have acted on the request anyway (a 5xx answer), False when the request
    never left (connection refused, DNS, TLS)."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class RequestRejected(DeliveryError):
    """The provider refused the request as a whole (400, 413): nothing was sent.
    Splitting the batch isolates the recipient(s) at fault."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class MailboxError(DigestError):
    """The bounce mailbox cannot be read (no server, a refused login, no such folder)."""


class EditionBusy(DigestError):
    """Another live process holds the edition's lease (it is being sent): this one
    stands aside. Exit code 3, so that a cron wrapper notices."""

    exit_code = 3

    def __init__(self, edition: str, holder: str | None, until: datetime | None) -> None:
        when = f" (its lease runs until {until:%H:%M:%S} UTC)" if until else ""
        super().__init__(
            f"edition {edition} is being sent by {holder or 'another process'}{when}; skipped"
        )
        self.edition = edition
        self.holder = holder
        self.until = until


class StoreError(DigestError):
    """The database is missing, unreadable or holds something unexpected."""


class NotFoundError(DigestError):
    """An edition, subscriber or other named thing does not exist."""
