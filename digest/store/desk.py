"""The editor's desk in the database: editor accounts, their sessions, and the
changes editors make to an edition (kept across rebuilds).

Passwords are hashed with scrypt (stdlib, memory-hard) and a per-user salt. A
session cookie carries a random token; the database keeps only its SHA-256, so a
leaked database does not hand out sessions.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.editorial.edits import Edit
from digest.errors import StoreError
from digest.store.schema import edition_edits, sessions, users

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.b64decode(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


# A constant hash to check against when the address is unknown, so that a wrong
# address takes as long as a wrong password (no account discovery by timing). Made
# on first use: a full scrypt at import would slow every command.
@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int
    email: str
    csrf: str
    expires_at: datetime


class Editors:
    """Editor accounts and sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, email: str, password: str, now: datetime) -> None:
        if len(password) < MIN_PASSWORD:
            raise StoreError(f"password too short: at least {MIN_PASSWORD} characters")
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(users).values(
                        email=email.lower(), password_hash=hash_password(password), created_at=now
                    )
                )
        except IntegrityError:
            raise StoreError(f"editor {email} already exists") from None

    def set_password(self, email: str, password: str) -> bool:
        if len(password) < MIN_PASSWORD:
            raise StoreError(f"password too short: at least {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(users.c.email == email.lower())
                .values(password_hash=hash_password(password))
            )
            found = bool(result.rowcount)
            if found:  # a new password ends every session of that editor
                user_id = conn.scalar(select(users.c.id).where(users.c.email == email.lower()))
                conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        return found

    def remove(self, email: str) -> bool:
        with self.engine.begin() as conn:
            user_id = conn.scalar(select(users.c.id).where(users.c.email == email.lower()))
            if user_id is None:
                return False
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))
        return True

    def emails(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(users.c.email).order_by(users.c.email)))

    def authenticate(self, email: str, password: str, now: datetime) -> int | None:
        """The editor's id when the password is right, else None (same cost either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users.c.id, users.c.password_hash).where(users.c.email == email.lower())
            ).first()
        if row is None:
            check_password(password, _dummy_hash())
            return None
        if not check_password(password, row.password_hash):
            return None
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == row.id).values(last_login_at=now))
        return int(row.id)

    def open_session(self, user_id: int, now: datetime, ttl: timedelta) -> str:
        """A new session; returns the cookie value (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    id_hash=_hash(token),
                    user_id=user_id,
                    csrf=secrets.token_urlsafe(32),
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return token

    def session(self, token: str, now: datetime) -> Session | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sessions.c.user_id, sessions.c.csrf, sessions.c.expires_at, users.c.email)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.id_hash == _hash(token))
            ).first()
        if row is None or row.expires_at <= now:
            return None
        return Session(int(row.user_id), str(row.email), str(row.csrf), row.expires_at)

    def close_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.id_hash == _hash(token)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class EditionEdits:
    """Editors' changes to one edition, one JSON object per story."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self, edition_id: int) -> dict[str, Edit]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(edition_edits.c.story_id, edition_edits.c.data).where(
                    edition_edits.c.edition_id == edition_id
                )
            )
            return {row.story_id: Edit.from_json(json.loads(row.data)) for row in rows}

    def rekey(self, edition_id: int, renamed: dict[str, str]) -> None:
        """Follow stories whose id changed in a rebuild: {old id: new id}."""
        with self.engine.begin() as conn:
            for old, new in renamed.items():
                conn.execute(
                    update(edition_edits)
                    .where(
                        edition_edits.c.edition_id == edition_id, edition_edits.c.story_id == old
                    )
                    .values(story_id=new)
                )

    def save(self, edition_id: int, changes: dict[str, Edit], editor: str, now: datetime) -> None:
        """Replace the stored changes of the given stories (an empty edit removes one)."""
        with self.engine.begin() as conn:
            for story_id, edit in changes.items():
                data = edit.to_json()
                conn.execute(
                    delete(edition_edits).where(
                        edition_edits.c.edition_id == edition_id,
                        edition_edits.c.story_id == story_id,
                    )
                )
                if data:
                    conn.execute(
                        insert(edition_edits).values(
                            edition_id=edition_id,
                            story_id=story_id,
                            data=json.dumps(data, ensure_ascii=False, sort_keys=True),
                            updated_at=now,
                            updated_by=editor,
                        )
                    )
