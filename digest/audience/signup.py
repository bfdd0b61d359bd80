"""Double opt-in sign-up: the confirmation link carries the sign-up itself (address,
name, sections) signed and with its expiry inside the MAC, so pending sign-ups need
no table; confirming subscribes, unless the address stopped after the link was
mailed (a replayed link must not undo that)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from digest.components import Components
from digest.delivery.notice import notice
from digest.links import unsubscribe_url
from digest.models import Subscriber, SubscriberStatus
from digest.tokens import sign

SIGNUP_TTL = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class SignUp:
    """What a confirmation link carries."""

    email: str
    name: str
    sections: tuple[str, ...]
    issued: datetime | None = None  # when the link was mailed
    editions: tuple[str, ...] = ()  # the newsletters chosen; none: every one

    def dumps(self) -> str:
        stamp = self.issued.isoformat() if self.issued else None
        data = {"e": self.email, "n": self.name, "s": list(self.sections), "t": stamp}
        if self.editions:
            data["d"] = list(self.editions)
        return json.dumps(data)

    @classmethod
    def loads(cls, text: str) -> SignUp | None:
        try:
            data = json.loads(text)
            sections = tuple(str(s) for s in data["s"])
            issued = datetime.fromisoformat(data["t"]) if data.get("t") else None
            editions = tuple(str(d) for d in data.get("d", ()))
            return cls(str(data["e"]), str(data["n"]), sections, issued, editions)
        except (ValueError, KeyError, TypeError):
            return None


def signup_language(c: Components, wanted: SignUp) -> str:
    """The language a sign-up is answered in: its newsletter's when it chose exactly
    one (``/signup/NAME``), else ``[web] language``."""
    chosen = [e for e in c.settings.editions if e.name in wanted.editions]
    return chosen[0].language if len(chosen) == 1 else c.settings.web.language


def send_confirmation(c: Components, key: bytes, wanted: SignUp) -> None:
    """Mail the confirmation link through the configured transport, in the sign-up's
    language."""
    expires = c.clock() + SIGNUP_TTL
    token = sign(key, "signup", wanted.dumps(), expires=expires)
    url = f"{c.settings.web.base_url}/signup/confirm/{token}"
    site = c.settings.delivery.from_name
    language = signup_language(c, wanted)
    words = c.messages(language)
    until = words.date_time(expires.astimezone(UTC))
    envelope = notice(
        Subscriber(wanted.email, wanted.name),
        subject=words.gettext("Confirm your subscription to %(site)s") % {"site": site},
        paragraphs=[
            words.gettext("Someone, we hope you, asked to send %(site)s to %(email)s.")
            % {"site": site, "email": wanted.email},
            words.gettext("To confirm, open this link and press the button:"),
            url,
            words.gettext(
                "The link works until %(until)s. If it was not you, ignore this email: "
                "nothing is sent without the confirmation."
            )
            % {"until": until},
        ],
        link=url,
        unsubscribe_url=unsubscribe_url(c.settings.web.base_url, key, wanted.email),
        kind="signup",
        language=language,
    )
    c.transport.send(envelope)


def confirm(c: Components, wanted: SignUp) -> bool:
    """Subscribe the address of a confirmed sign-up; False when it stopped (any change
    of status) after the link was mailed. Pending (imported without evidence of a
    sign-up) is no stop: it waits for exactly this confirmation."""
    known = c.store.subscribers.get(wanted.email)
    if (
        known is not None
        and known.status not in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)
        and known.updated_at is not None
        and (wanted.issued is None or known.updated_at > wanted.issued)
    ):
        return False
    now = c.clock()
    # An erased address that confirms again: its hash goes, its ledger rows come back
    # (what it had stays had: no second copy of an edition already delivered).
    c.store.erasures.lift(wanted.email, c.signing_key())
    person = Subscriber(wanted.email, wanted.name, "UTC", wanted.sections)
    configured = [e.name for e in c.settings.editions]
    c.store.subscribers.confirm_signup(person, now, wanted.editions, configured)
    return True
