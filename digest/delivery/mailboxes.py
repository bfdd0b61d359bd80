"""Where bounces and complaints arrive: a Maildir folder or an IMAP mailbox, behind one
``Mailbox`` Protocol (and a list in memory for tests).

A mailbox hands over the letters not yet read and, for each one the importer could
apply, is told it is done: marked seen (Maildir: moved to cur/ with the S flag; IMAP:
the \\Seen flag). Nothing is ever deleted; a letter that could not be read stays
unread, to be looked at by a person.
"""

from __future__ import annotations

import imaplib
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from digest.errors import ConfigError, MailboxError
from digest.settings.delivery import BouncesSettings

MAX_LETTER_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Letter:
    key: str  # a file name or an IMAP UID
    raw: bytes


class Mailbox(Protocol):
    """The unread letters of a mailbox, and marking one as read."""

    name: str

    def letters(self) -> Iterator[Letter]: ...

    def done(self, letter: Letter) -> None: ...

    def close(self) -> None: ...


@dataclass
class MemoryMailbox:
    """Letters in a list; ``read`` collects the keys marked done."""

    unread: list[Letter]
    name: str = "memory"
    read: list[str] = field(default_factory=list)

    def letters(self) -> Iterator[Letter]:
        yield from (letter for letter in self.unread if letter.key not in self.read)

    def done(self, letter: Letter) -> None:
        self.read.append(letter.key)

    def close(self) -> None:
        pass


class MaildirMailbox:
    """A Maildir (new/, cur/, tmp/): unread = in new/, or in cur/ without the S flag."""

    def __init__(self, path: Path) -> None:
        if not (path / "new").is_dir() or not (path / "cur").is_dir():
            raise ConfigError(
                f"{path} is not a Maildir (no new/ and cur/)", field="bounces.maildir"
            )
        self.path, self.name = path, str(path)

    def letters(self) -> Iterator[Letter]:
        for sub in ("new", "cur"):
            for entry in sorted(os.scandir(self.path / sub), key=lambda e: e.name):
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                if sub == "cur" and "S" in _flags(entry.name):
                    continue
                if entry.stat().st_size > MAX_LETTER_BYTES:
                    continue  # not a bounce; left for a person
                yield Letter(f"{sub}/{entry.name}", Path(entry.path).read_bytes())

    def done(self, letter: Letter) -> None:
        sub, _, name = letter.key.partition("/")
        base, _, info = name.partition(":2,")
        flags = "".join(sorted(set(info) | {"S"}))
        os.replace(self.path / sub / name, self.path / "cur" / f"{base}:2,{flags}")

    def close(self) -> None:
        pass


def _flags(name: str) -> str:
    return name.partition(":2,")[2]


class ImapMailbox:
    """An IMAP mailbox over TLS (``imaps://``; plain ``imap://`` only on loopback):
    unread = without \\Seen; fetched with BODY.PEEK so reading marks nothing."""

    def __init__(self, settings: BouncesSettings, context: ssl.SSLContext | None = None) -> None:
        assert settings.imap_url is not None and settings.password is not None
        url = urlsplit(settings.imap_url)
        self.name = f"{url.scheme}://{url.username}@{url.hostname}{url.path or '/INBOX'}"
        folder = unquote(url.path.lstrip("/")) or "INBOX"
        port = url.port or (993 if url.scheme == "imaps" else 143)
        host = url.hostname or ""
        timeout = settings.timeout_seconds
        try:
            if url.scheme == "imaps":
                context = context or ssl.create_default_context(
                    cafile=str(settings.ca_file) if settings.ca_file else None
                )
                self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    host, port, ssl_context=context, timeout=timeout
                )
            else:
                self.imap = imaplib.IMAP4(host, port, timeout=timeout)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"{self.name}: the certificate is not trusted: {exc.verify_message}"
            ) from None
        except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"{self.name}: cannot connect: {exc}") from None
        self._open(unquote(url.username or ""), settings.password.get_secret_value(), folder)

    def _open(self, user: str, password: str, folder: str) -> None:
        try:
            self.imap.login(user, password)
        except imaplib.IMAP4.error as exc:
            self.imap.shutdown()
            raise MailboxError(
                f"{self.name}: the server refused the login of {user}: {_said(exc)}"
            ) from None
        status, answer = self.imap.select(f'"{folder}"')
        if status != "OK":
            self.close()
            raise MailboxError(f"{self.name}: no folder {folder!r}: {_said(answer)}")

    def letters(self) -> Iterator[Letter]:
        status, found = self.imap.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise MailboxError(f"{self.name}: SEARCH failed: {_said(found)}")
        listed = found[0] if found and isinstance(found[0], bytes) else b""
        for uid in listed.decode().split():
            status, data = self.imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if status == "OK" and isinstance(raw, bytes) and len(raw) <= MAX_LETTER_BYTES:
                yield Letter(uid, raw)

    def done(self, letter: Letter) -> None:
        self.imap.uid("STORE", letter.key, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        try:
            self.imap.close()
            self.imap.logout()
        except (imaplib.IMAP4.error, OSError):
            self.imap.shutdown()


def _said(answer: object) -> str:
    if isinstance(answer, list | tuple):
        answer = b" ".join(a for a in answer if isinstance(a, bytes))
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return " ".join(text.split())[:200]


def open_mailbox(settings: BouncesSettings) -> Mailbox:
    """The configured mailbox."""
    if settings.maildir is not None:
        return MaildirMailbox(settings.maildir)
    return ImapMailbox(settings)
