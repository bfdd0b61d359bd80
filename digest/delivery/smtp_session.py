"""One SMTP conversation: opening a connection (TLS, EHLO, STARTTLS, AUTH) and one
message through it, each server answer sorted into what the transport does next.

Opening fails with a :class:`TransportSetupError` or :class:`TransportAuthError`
when the server can never be used as configured (the send stops), and with
:class:`Unreachable` when it cannot be reached now (the messages wait and are tried
again).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from digest.errors import DeliveryError, TransportAuthError, TransportSetupError
from digest.settings.delivery import SmtpSettings


class Reconnect(Exception):
    """421, or the connection went before the final dot: send again, freshly connected."""


class Deferred(Exception):
    """A 4xx answer: nothing was accepted; try again after a back-off."""


class Rejected(Exception):
    """A 5xx answer to RCPT or DATA: this recipient is refused."""


class Ambiguous(Exception):
    """The connection went after the final dot: the message may have been accepted."""


class Unreachable(Exception):
    """The server cannot be reached now (refused, timed out, name not found)."""


def _where(settings: SmtpSettings) -> str:
    return f"{settings.host}:{settings.effective_port}"


def open_session(
    settings: SmtpSettings, context: ssl.SSLContext, *, local_hostname: str | None = None
) -> smtplib.SMTP:
    """A connection ready for MAIL FROM: greeted, secured and logged in as configured."""
    session = _connect(settings, context, local_hostname)
    try:
        _secure(session, settings, context)
        _log_in(session, settings)
    except BaseException:
        session.close()
        raise
    return session


def _connect(
    settings: SmtpSettings, context: ssl.SSLContext, local_hostname: str | None
) -> smtplib.SMTP:
    where, timeout = _where(settings), settings.timeout_seconds
    port = settings.effective_port
    try:
        if settings.security == "tls":
            return smtplib.SMTP_SSL(
                settings.host, port, local_hostname, timeout=timeout, context=context
            )
        return smtplib.SMTP(settings.host, port, local_hostname, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise TransportSetupError(
            f"the certificate of {where} is not trusted: {exc.verify_message}"
        ) from None
    except ssl.SSLError as exc:
        raise TransportSetupError(f"no TLS at {where} ({exc.reason}): is security right?") from None
    except smtplib.SMTPConnectError as exc:
        raise _greeting(where, exc.smtp_code, exc.smtp_error) from None
    except smtplib.SMTPServerDisconnected as exc:
        if "timed out" in str(exc):  # connected, and then nothing: not an SMTP server
            raise TransportSetupError(
                f"no SMTP greeting from {where} within {timeout:g} s: is it an SMTP server "
                "(port 587, 465 or 25)?"
            ) from None
        raise TransportSetupError(
            f"{where} closed the connection before greeting: {exc}; is it an SMTP server?"
        ) from None
    except TimeoutError:
        raise Unreachable(f"cannot connect to {where}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise Unreachable(f"cannot connect to {where}: {exc.strerror or exc}") from None


def _greeting(where: str, code: int, text: bytes | str) -> Exception:
    message = _text(text)
    if 400 <= code < 500:
        return Unreachable(f"{where} is busy: {code} {message}")
    return TransportSetupError(f"{where} is not an SMTP server that takes mail: {code} {message}")


def _secure(session: smtplib.SMTP, settings: SmtpSettings, context: ssl.SSLContext) -> None:
    where = _where(settings)
    _ehlo(session, where)
    if settings.security != "starttls":
        return
    if not session.has_extn("starttls"):
        raise TransportSetupError(
            f"{where} does not offer STARTTLS; refusing to send in clear text "
            "(security = 'tls' for port 465)"
        )
    try:
        code, reply = session.starttls(context=context)
    except ssl.SSLCertVerificationError as exc:
        raise TransportSetupError(
            f"the certificate of {where} is not trusted: {exc.verify_message}"
        ) from None
    except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
        raise TransportSetupError(f"STARTTLS with {where} failed: {exc}") from None
    if code != 220:
        raise TransportSetupError(f"{where} refused STARTTLS: {code} {_text(reply)}")
    _ehlo(session, where)


def _ehlo(session: smtplib.SMTP, where: str) -> None:
    try:
        code, reply = session.ehlo()
    except smtplib.SMTPServerDisconnected:
        raise TransportSetupError(
            f"{where} closed the connection at EHLO; is it an SMTP server?"
        ) from None
    except OSError as exc:
        raise Unreachable(f"{where} went away at EHLO: {exc}") from None
    if code != 250:
        raise TransportSetupError(f"{where} refused EHLO: {code} {_text(reply)}")


def _log_in(session: smtplib.SMTP, settings: SmtpSettings) -> None:
    if settings.username is None or settings.password is None:
        return
    where = _where(settings)
    if not session.has_extn("auth"):
        raise TransportSetupError(f"{where} offers no AUTH, but a username is configured")
    offered = (session.esmtp_features.get("auth") or "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m in offered), None)
    if mechanism is None:
        raise TransportSetupError(f"{where} offers no AUTH mechanism digest speaks ({offered})")
    # One mechanism, the first the server offers of ours: smtplib's login() would try
    # the others after a refusal, and some servers hang on a second AUTH.
    session.user, session.password = settings.username, settings.password.get_secret_value()
    method = {"PLAIN": session.auth_plain, "LOGIN": session.auth_login}.get(
        mechanism, session.auth_cram_md5
    )
    try:
        code, _ = session.auth(mechanism, method)
    except smtplib.SMTPAuthenticationError as exc:
        raise TransportAuthError(
            f"{where} refused the login of {settings.username}: {exc.smtp_code} "
            f"{_text(exc.smtp_error)}"
        ) from None
    except smtplib.SMTPException as exc:
        raise TransportAuthError(f"logging in to {where} failed: {exc}") from None
    except OSError as exc:
        raise Unreachable(f"{where} went away while logging in: {exc}") from None
    if code not in (235, 503):  # 503: already authenticated
        raise TransportAuthError(f"{where} refused the login of {settings.username}: {code}")


# -- one message ---------------------------------------------------------------------


def deliver_one(
    session: smtplib.SMTP, sender: str, recipient: str, data: bytes, *, handed: Callable[[], None]
) -> str:
    """MAIL FROM, RCPT TO, DATA and the message (``data``: CRLF lines, dot-stuffed,
    ending in CRLF); returns the server's 250 reply text. ``handed`` is called right
    before the message and its final dot go."""
    options = ["SMTPUTF8"] if not (sender + recipient).isascii() else []
    if options and not session.has_extn("smtputf8"):
        raise Rejected("the server takes no address outside ASCII (it offers no SMTPUTF8)")
    try:
        _answer("MAIL FROM", *session.mail(sender, options), mail_from=True)
        _answer("RCPT TO", *session.rcpt(recipient))
        session.putcmd("data")
        code, reply = session.getreply()
        if code != 354:
            _answer("DATA", code, reply)
            raise Reconnect(f"DATA answered {code} {_text(reply)}")
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise Reconnect(f"connection lost before the message was sent: {exc}") from None
    handed()
    try:
        session.send(data + b".\r\n")
        code, reply = session.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise Ambiguous(
            f"connection lost after the message was sent, before the answer: {exc}"
        ) from None
    if code == 250:
        return _text(reply)
    _answer("end of data", code, reply)
    raise Reconnect(f"end of data answered {code} {_text(reply)}")


def _answer(stage: str, code: int, reply: bytes, *, mail_from: bool = False) -> None:
    """Raise what a non-2xx answer means; return on 2xx."""
    if 200 <= code < 300:
        return
    text = f"{stage}: {code} {_text(reply)}"
    if code == 421 or code < 200:  # closing, or no reply at all (-1)
        raise Reconnect(text)
    if 400 <= code < 500:
        raise Deferred(text)
    if mail_from:
        raise TransportSetupError(f"the server refuses the sender: {text}")
    raise Rejected(text)


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:500]


@dataclass(frozen=True, slots=True)
class Probe:
    """What ``config check --probe`` learnt from the server."""

    greeting: str
    extensions: tuple[str, ...]
    tls: str | None
    authenticated: bool


def probe(settings: SmtpSettings, context: ssl.SSLContext) -> Probe:
    """Connect, secure and log in as a send would, and report what the server offers."""
    try:
        session = open_session(settings, context)
    except Unreachable as exc:
        raise DeliveryError(str(exc)) from None
    try:
        sock = session.sock
        tls = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        extensions = tuple(
            sorted(f"{k.upper()} {v}".strip() for k, v in session.esmtp_features.items())
        )
        greeting = _text(session.ehlo_resp or b"")
        return Probe(greeting.split(" ")[0], extensions, tls, settings.username is not None)
    finally:
        try:
            session.quit()
        except (smtplib.SMTPException, OSError):
            session.close()
