"""The subscriber's side of the web app, no login: the preferences page behind the
signed link in every edition, sign-up with double opt-in, and the public archive of
sent editions.

Links carry signed tokens (:mod:`digest.tokens`): ``preferences`` tokens never
expire (they sit in old emails); ``signup`` tokens carry the sign-up itself (address,
name, sections) and expire after :data:`SIGNUP_TTL`, so no table of pending sign-ups
is needed. Every form carries a CSRF token (double-submit cookie, ``pages.csrf_ok``).
A GET never changes anything: link scanners follow links, so confirming takes a POST.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from digest import pipeline
from digest.components import Components
from digest.delivery.notice import notice
from digest.errors import DeliveryError
from digest.models import Subscriber, SubscriberStatus
from digest.settings.config import Settings, check_email, check_timezone
from digest.store.subscribers import SubscriberRecord
from digest.tokens import sign, verify
from digest.web.pages import client_address, csrf_ok, page
from digest.web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

SIGNUP_TTL = timedelta(hours=48)
MAX_NAME = 100
# Sign-up POSTs per client address, and confirmation emails per address asked for (so
# that nobody can flood someone else's inbox from many addresses).
SIGNUPS_PER_CLIENT = (5, 10 * 60)
MAILS_PER_ADDRESS = (3, 60 * 60)
# What a URL may name in the archive: an edition name as the settings allow it and a
# period without dots or slashes, so no path outside the web folder can be built.
EDITION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
PERIOD = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")
# The web version shows images from the feeds' hosts; scripts stay off.
WEB_VERSION_CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STOPPED_BECAUSE = {
    SubscriberStatus.BOUNCED: "messages to it bounced",
    SubscriberStatus.COMPLAINED: "a message was marked as spam",
    SubscriberStatus.DROPPED: "the mail provider refused to deliver to it",
}


@dataclass(frozen=True, slots=True)
class SignUp:
    """What a confirmation link carries."""

    email: str
    name: str
    sections: tuple[str, ...]
    issued: datetime | None = None  # when the link was mailed

    def dumps(self) -> str:
        stamp = self.issued.isoformat() if self.issued else None
        return json.dumps({"e": self.email, "n": self.name, "s": list(self.sections), "t": stamp})

    @classmethod
    def loads(cls, text: str) -> SignUp | None:
        try:
            data = json.loads(text)
            sections = tuple(str(s) for s in data["s"])
            issued = datetime.fromisoformat(data["t"]) if data.get("t") else None
            return cls(str(data["e"]), str(data["n"]), sections, issued)
        except (ValueError, KeyError, TypeError):
            return None


def section_names(settings: Settings) -> list[str]:
    """Every configured section name of every edition, in order, once."""
    return list(dict.fromkeys(s.name for e in settings.editions for s in e.sections))


def time_zones() -> list[str]:
    """IANA zone names a person would pick from: UTC, then Area/City names (no
    ``posixrules``, ``Factory``, ``GB-Eire``...)."""
    return ["UTC", *sorted(z for z in available_timezones() if "/" in z and z[0].isupper())]


def routes(c: Components) -> list[Route]:
    """The subscriber pages, on components built once at start-up."""
    key = c.signing_key()
    site = c.settings.delivery.from_name
    sections = section_names(c.settings)
    zones = time_zones()
    by_client = RateLimiter(*SIGNUPS_PER_CLIENT)
    by_address = RateLimiter(*MAILS_PER_ADDRESS)

    def show(
        request: Request, template: str, title: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        return page(request, template, {"site": site, "title": title, **context}, status=status)

    def message(
        request: Request, title: str, text: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        values = {"message": text, "link": None, "link_text": "", **context}
        return show(request, "public/message.html", title, status, **values)

    def invalid_link(request: Request, *, expiring: bool = False) -> HTMLResponse:
        text = (
            "This confirmation link has expired or is not valid. Sign up again to get a new one."
            if expiring
            else "This link is not valid. Use the link in your most recent email."
        )
        return message(request, "Link not valid", text, 404)

    def chosen(values: list[str]) -> tuple[str, ...]:
        """Known section names only; every one ticked means all (future ones too)."""
        ticked = set(values)
        picked = tuple(s for s in sections if s in ticked)
        return () if len(picked) == len(sections) else picked

    # -- preferences -------------------------------------------------------------------

    def preferences_page(
        request: Request, record: SubscriberRecord, status: int = 200, **flash: Any
    ) -> HTMLResponse:
        person = record.subscriber
        wanted = {t.lower() for t in person.topics}
        own_zones = zones if person.timezone in zones else sorted([*zones, person.timezone])
        return show(
            request,
            "public/preferences.html",
            "Your preferences",
            status,
            email=person.email,
            state=record.status.value,
            sections=[{"name": s, "chosen": s.lower() in wanted} for s in sections],
            timezones=own_zones,
            timezone=person.timezone,
            unsubscribe_path=f"/unsubscribe/{sign(key, 'unsubscribe', person.email)}",
            stopped_because=STOPPED_BECAUSE.get(record.status, "of a delivery problem"),
            **flash,
        )

    async def preferences(request: Request) -> Response:
        email = verify(key, "preferences", request.path_params["token"])
        record = c.store.subscribers.get(email) if email else None
        if email is None or record is None:
            return invalid_link(request)
        if request.method in ("GET", "HEAD"):
            return preferences_page(request, record)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token")):
            return preferences_page(request, record, 403, **_expired())
        now = c.clock()
        if form.get("action") == "resubscribe":
            again = c.store.subscribers.set_status(
                email,
                SubscriberStatus.ACTIVE,
                "re-subscribed on the preferences page",
                now,
                only_from={SubscriberStatus.UNSUBSCRIBED},
            )
            flash = "Welcome back: you are subscribed again." if again else None
            return preferences_page(request, _reload(c, email, record), flash=flash)
        timezone = str(form.get("timezone", record.subscriber.timezone))
        try:
            # One of the listed zones (or the one the subscriber has): a select
            # cannot send anything else.
            if timezone not in zones and timezone != record.subscriber.timezone:
                raise ValueError(timezone)
            check_timezone(timezone)
        except ValueError:
            return preferences_page(
                request, record, 400, flash="Choose a time zone from the list.", flash_error=True
            )
        topics = chosen([str(v) for v in form.getlist("section")])
        paused = form.get("paused") == "yes"
        if not c.store.subscribers.set_preferences(email, topics, timezone, paused, now):
            # Unsubscribed or suppressed since the page was shown.
            return preferences_page(
                request,
                _reload(c, email, record),
                409,
                flash="Nothing saved: this address no longer gets the digest.",
                flash_error=True,
            )
        saved = "Saved. Deliveries are paused." if paused else "Saved."
        return preferences_page(request, _reload(c, email, record), flash=saved)

    async def no_token(request: Request) -> Response:
        return message(
            request,
            "Use the link in your email",
            "To change your preferences or unsubscribe, follow the link at the bottom "
            "of any edition we sent you.",
        )

    # -- sign-up -----------------------------------------------------------------------

    def signup_form(
        request: Request, form: FormData | None = None, status: int = 200, **flash: Any
    ) -> HTMLResponse:
        ticked = set(form.getlist("section")) if form else set()
        return show(
            request,
            "public/signup.html",
            "Sign up",
            status,
            email=str(form.get("email") or "")[:320] if form else "",
            name=str(form.get("name") or "")[:MAX_NAME] if form else "",
            max_name=MAX_NAME,
            sections=[{"name": s, "chosen": s in ticked} for s in sections],
            **flash,
        )

    async def signup(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            return signup_form(request)
        client = client_address(request)
        if not by_client.allow(client):
            response = message(
                request, "Too many sign-ups", "Too many attempts; try again in a few minutes.", 429
            )
            response.headers["Retry-After"] = str(by_client.retry_after(client))
            return response
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token")):
            return signup_form(request, form, 403, **_expired())
        try:
            email = check_email(str(form.get("email") or "").strip())
        except ValueError:
            return signup_form(
                request, form, 400, flash="That is not a valid email address.", flash_error=True
            )
        name = _clean_name(str(form.get("name") or ""))
        wanted = SignUp(email, name, chosen([str(v) for v in form.getlist("section")]), c.clock())
        # The same answer whether or not the address is known, and whether or not a
        # mail went out (the per-address limit): nothing to learn about anyone.
        if by_address.allow(email.lower()):
            try:
                await run_in_threadpool(send_confirmation, c, key, wanted)
            except DeliveryError as exc:
                log.warning("sign-up confirmation not sent: %s", exc)
                return message(
                    request,
                    "Not sent",
                    "We could not send the confirmation email just now; try again later.",
                    503,
                )
        return message(
            request,
            "Check your inbox",
            f"If {email} can receive email, a confirmation link is on its way. "
            f"Follow it within {int(SIGNUP_TTL.total_seconds() // 3600)} hours to start "
            "getting the digest.",
        )

    async def confirm(request: Request) -> Response:
        value = verify(key, "signup", request.path_params["token"], now=c.clock())
        wanted = SignUp.loads(value) if value is not None else None
        if wanted is None:
            return invalid_link(request, expiring=True)
        if request.method in ("GET", "HEAD"):
            return show(
                request,
                "public/confirm.html",
                "Confirm",
                email=wanted.email,
                sections=wanted.sections,
            )
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token")):
            return show(
                request,
                "public/confirm.html",
                "Confirm",
                403,
                email=wanted.email,
                sections=wanted.sections,
                **_expired(),
            )
        known = c.store.subscribers.get(wanted.email)
        if (
            known is not None
            and known.status != SubscriberStatus.ACTIVE
            and known.updated_at is not None
            and (wanted.issued is None or known.updated_at > wanted.issued)
        ):
            # They stopped after this link was mailed: a replayed link must not undo it.
            return message(
                request,
                "Link already used",
                "This confirmation link was sent before your last change. "
                "Sign up again to get a new one.",
                409,
                link="/signup",
                link_text="Sign up again",
            )
        person = Subscriber(wanted.email, wanted.name, "UTC", wanted.sections)
        c.store.subscribers.confirm_signup(person, c.clock())
        return show(
            request,
            "public/confirmed.html",
            "Subscribed",
            email=wanted.email,
            preferences_path=f"/preferences/{sign(key, 'preferences', wanted.email.lower())}",
        )

    # -- archive -----------------------------------------------------------------------

    titles = {e.name: e.title for e in c.settings.editions}

    async def archive(request: Request) -> Response:
        groups: dict[str, list[dict[str, str]]] = {}
        for item in c.store.sent_editions():
            if EDITION_NAME.fullmatch(item.name) and PERIOD.fullmatch(item.period):
                groups.setdefault(item.name, []).append(
                    {"name": item.name, "period": item.period, "label": item.period}
                )
        listed = [
            {"title": titles.get(name, name), "editions": items} for name, items in groups.items()
        ]
        return show(request, "public/archive.html", "Archive", groups=listed)

    async def web_version(request: Request) -> Response:
        name, period = request.path_params["name"], request.path_params["period"]

        def missing() -> HTMLResponse:
            return message(request, "Not found", "There is no such edition in the archive.", 404)

        if not (EDITION_NAME.fullmatch(name) and PERIOD.fullmatch(period)):
            return missing()
        # Only a sent edition: a draft's web version exists before it goes out.
        if c.store.edition_status(name, period) != "sent":
            return missing()
        root = c.settings.web.editions_dir.resolve()
        path = (root / name / f"{period}.html").resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return missing()
        return HTMLResponse(
            path.read_text(encoding="utf-8"), headers={"Content-Security-Policy": WEB_VERSION_CSP}
        )

    return [
        Route("/preferences", no_token),
        Route("/unsubscribe", no_token),
        Route("/preferences/{token}", preferences, methods=["GET", "POST"]),
        Route("/signup", signup, methods=["GET", "POST"]),
        Route("/signup/confirm/{token}", confirm, methods=["GET", "POST"]),
        Route("/editions", archive),
        Route("/editions/{name}/{period}", web_version),
    ]


def send_confirmation(c: Components, key: bytes, wanted: SignUp) -> None:
    """Mail the confirmation link through the configured transport."""
    expires = c.clock() + SIGNUP_TTL
    token = sign(key, "signup", wanted.dumps(), expires=expires)
    url = f"{c.settings.web.base_url}/signup/confirm/{token}"
    site = c.settings.delivery.from_name
    until = expires.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC")
    envelope = notice(
        Subscriber(wanted.email, wanted.name),
        subject=f"Confirm your subscription to {site}",
        paragraphs=[
            f"Someone, we hope you, asked to send {site} to {wanted.email}.",
            "To confirm, open this link and press the button:",
            url,
            f"The link works until {until}. If it was not you, ignore this email: "
            "nothing is sent without the confirmation.",
        ],
        link=url,
        unsubscribe_url=pipeline.unsubscribe_url(c, key, wanted.email),
        kind="signup",
    )
    c.transport.send(envelope)


def _reload(c: Components, email: str, fallback: SubscriberRecord) -> SubscriberRecord:
    return c.store.subscribers.get(email) or fallback


def _expired() -> dict[str, Any]:
    return {"flash": "The form expired; please try again.", "flash_error": True}


def _clean_name(raw: str) -> str:
    """A name for the greeting and the To header: printable, one line, not too long,
    without the characters that make up addresses or encoded words."""
    printable = "".join(ch for ch in raw if ch.isprintable() and ch not in '<>@,;:"\\')
    return " ".join(printable.replace("=?", "").split())[:MAX_NAME]
