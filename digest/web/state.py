"""What the endpoints share, made once at start-up and kept on ``app.state.web``:
the components, the signing key, the rate limiters and the desk's preview cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import available_timezones

from starlette.requests import Request

from digest.components import Components
from digest.delivery.events import WebhookVerifier
from digest.models import RenderedMessage
from digest.store.limits import SIGNUP_MAIL, RateHits
from digest.web.ratelimit import Limiter

PREVIEWS_KEPT = 8
# Sign-up POSTs per client address, and confirmation emails per address asked for (so
# that nobody can flood someone else's inbox from many addresses).
SIGNUPS_PER_CLIENT = (5, 10 * 60)
LOGINS_PER_CLIENT = (10, 15 * 60)
LOGIN_FAILURES = (5, 15 * 60)
MAILS_PER_ADDRESS = (3, 60 * 60)


class PreviewCache:
    """The desk's preview page loads the same rendering three times (two widths and
    the text): the last few renderings are kept, keyed by what they were made from."""

    def __init__(self, kept: int = PREVIEWS_KEPT) -> None:
        self.kept = kept
        self._items: dict[tuple[str, tuple[str, ...]], RenderedMessage] = {}
        self._lock = threading.Lock()

    def get(
        self, key: tuple[str, tuple[str, ...]], make: Callable[[], RenderedMessage]
    ) -> RenderedMessage:
        with self._lock:
            if key in self._items:
                return self._items[key]
        message = make()
        with self._lock:
            while len(self._items) >= self.kept:
                del self._items[next(iter(self._items))]
            self._items[key] = message
        return message


@dataclass
class WebState:
    c: Components
    signing_key: bytes
    webhook: WebhookVerifier | None
    sections: list[str]  # every configured section name, for the subscriber pages
    zones: list[str]  # the time zones a subscriber picks from
    # Desk sign-in: all attempts per client address; failures per account and
    # address, so that a stranger's wrong guesses never lock the real editor out.
    logins: Limiter
    login_failures: Limiter
    signups: Limiter
    mails: Limiter
    previews: PreviewCache = field(default_factory=PreviewCache)


def make_state(c: Components) -> WebState:
    key = c.settings.delivery.sendgrid.webhook_public_key
    sections = list(dict.fromkeys(s.name for e in c.settings.editions for s in e.sections))
    # Counted in the database: two web processes behind a load balancer (or a
    # restart) do not double the allowance.
    hits = RateHits(c.store.engine, c.wall_clock)
    return WebState(
        c=c,
        signing_key=c.signing_key(),
        webhook=WebhookVerifier(key) if key else None,
        sections=sections,
        zones=time_zones(),
        logins=hits.limiter("login", *LOGINS_PER_CLIENT),
        login_failures=hits.limiter("login-failure", *LOGIN_FAILURES),
        signups=hits.limiter("signup", *SIGNUPS_PER_CLIENT),
        mails=hits.limiter(SIGNUP_MAIL, *MAILS_PER_ADDRESS),
    )


def web(request: Request) -> WebState:
    """The shared state of the app serving ``request``."""
    state: WebState = request.app.state.web
    return state


def time_zones() -> list[str]:
    """IANA zone names a person would pick from: UTC, then Area/City names (no
    ``posixrules``, ``Factory``, ``GB-Eire``...)."""
    return ["UTC", *sorted(z for z in available_timezones() if "/" in z and z[0].isupper())]
