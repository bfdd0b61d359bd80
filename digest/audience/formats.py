"""The subscriber files ``digest subscribers import`` reads: our own format and the
exports of other newsletter tools, each recognised by its header row (column names
compared trimmed and case-insensitively) and mapped row by row onto one
:class:`~digest.models.ImportedSubscriber`.

Each tool's status values map through :mod:`digest.audience.statuses`; names go
through :func:`~digest.audience.people.clean_name`, and tags or labels become topics
only when they name a configured section. A row that cannot be mapped raises
ValueError with the reason, and is reported, not imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

from digest.audience import statuses
from digest.audience.csv_list import EXPORT_COLUMNS, subscriber_from_row
from digest.audience.people import clean_name, clean_topics
from digest.models import ImportedSubscriber
from digest.models import SubscriberStatus as S
from digest.settings.fields import check_email

Row = Mapping[str, str]
Mapper = Callable[[Row], ImportedSubscriber]


@dataclass(frozen=True, slots=True)
class Source:
    """What a format may read besides the rows."""

    header: tuple[str, ...]
    file_name: str
    sections: Mapping[str, str]  # lower-case name -> the configured section name
    editions: tuple[str, ...] = ()  # the configured editions (newsletters)


@dataclass(frozen=True, slots=True)
class Format:
    name: str  # for --format
    label: str  # as the import reports it
    required: tuple[str, ...]  # without these the file cannot be read as this format
    uses: frozenset[str]  # the columns read; the others are ignored, with one note
    recognise: Callable[[frozenset[str]], bool]
    mapper: Callable[[Source], Mapper]  # ValueError: the file is not usable as a whole
    pending_hint: str = ""  # what to do when its rows come out pending for want of evidence
    describe: Callable[[Source], str] | None = None  # the label of a file, when it varies

    def label_of(self, source: Source) -> str:
        return self.describe(source) if self.describe else self.label


def _cell(row: Row, column: str) -> str:
    return (row.get(column) or "").strip()


def _unguard(value: str) -> str:
    """Without the apostrophe that spreadsheet-safe exports (Ghost's) put before a
    cell starting with = + - @, so it is not read as a formula."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


def _name(*parts: str) -> str | None:
    return clean_name(" ".join(p for p in parts if p)) or None


def _topics(tags: Iterable[str], source: Source) -> tuple[str, ...] | None:
    """The tags that name a configured section, as the section is named."""
    named = (source.sections.get(" ".join(tag.split()).lower()) for tag in tags)
    return clean_topics(t for t in named if t) or None


@cache
def _zones() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def _zone(value: str) -> str | None:
    """An IANA time zone in any case ("america/chicago"); None when it is none."""
    return _zones().get(value.strip().lower())


def editions_cell(value: str, configured: tuple[str, ...]) -> tuple[str, ...] | None:
    """An ``editions`` cell: ``;``-separated edition names (repeats collapse), ``*``
    for every edition; empty: the file does not say (every edition, for a new
    address). ValueError names an unknown edition."""
    names = tuple(dict.fromkeys(n.strip() for n in value.split(";") if n.strip()))
    if not names:
        return None
    if "*" in names:
        return ("*",)
    unknown = [n for n in names if n not in configured]
    if unknown:
        shown = ", ".join(repr(n[:63]) for n in unknown)
        raise ValueError(f"unknown edition(s) {shown} (configured: {', '.join(configured)})")
    return names


def _never(header: frozenset[str]) -> bool:
    return False


def _own(source: Source) -> Mapper:
    def record(row: Row) -> ImportedSubscriber:
        person = subscriber_from_row(row)
        value = _cell(row, "status").lower()
        try:
            status = S(value) if value else S.ACTIVE
        except ValueError:
            known = ", ".join(s.value for s in S)
            raise ValueError(f"status {value[:40]!r} is not one of {known}") from None
        return ImportedSubscriber(
            person.email,
            status,
            person.name,
            person.timezone,
            person.topics,
            reason="import: status column" if value else "",
            editions=editions_cell(_cell(row, "editions"), source.editions),
        )

    return record


# -- Mailchimp ---------------------------------------------------------------------------

_MAILCHIMP_KINDS = ("cleaned", "unsubscribed", "nonsubscribed", "subscribed")  # strictest first
_MAILCHIMP_USES = frozenset(
    ("email address", "first name", "last name", "timezone", "tags", "unsub_time", "clean_time")
)


def _mailchimp_kind(source: Source, forced: str | None) -> str:
    """Which members a Mailchimp file holds: what its columns, its name and --format
    say, the strictest of them when they differ; never "subscribed" on no evidence."""
    said = {forced} if forced else set()
    said |= {"cleaned"} if "clean_time" in source.header else set()
    said |= {"unsubscribed"} if "unsub_time" in source.header else set()
    name = source.file_name.lower()
    said |= {kind for kind in _MAILCHIMP_KINDS if name.startswith(f"{kind}_")}
    for kind in _MAILCHIMP_KINDS:
        if kind in said:
            return kind
    raise ValueError(
        "a Mailchimp export that does not say which members it holds (no UNSUB_TIME or "
        "CLEAN_TIME column, and not Mailchimp's file name such as "
        "subscribed_members_export_….csv); if it holds subscribed members only, "
        "say so with --format mailchimp-subscribed (or mailchimp-nonsubscribed)"
    )


def _mailchimp_tags(cell: str) -> list[str]:
    # TAGS is itself a CSV list of quoted tags: "VIP","Local news"
    return next(csv.reader(io.StringIO(cell)), []) if cell else []


def _mailchimp(forced: str | None) -> Callable[[Source], Mapper]:
    def build(source: Source) -> Mapper:
        kind = _mailchimp_kind(source, forced)
        status, reason = statuses.MAILCHIMP[kind], f"Mailchimp: {kind} members export"

        def record(row: Row) -> ImportedSubscriber:
            return ImportedSubscriber(
                email=check_email(_cell(row, "email address")),
                status=status,
                name=_name(_cell(row, "first name"), _cell(row, "last name")),
                timezone=_zone(_cell(row, "timezone")),
                topics=_topics(_mailchimp_tags(_cell(row, "tags")), source),
                reason=reason,
                unsubscribed_at=statuses.when(_cell(row, "unsub_time")),
            )

        return record

    return build


# -- Ghost, listmonk, Substack, Buttondown, beehiiv ------------------------------------------


def _ghost(source: Source) -> Mapper:
    def record(row: Row) -> ImportedSubscriber:
        email = check_email(_cell(row, "email"))
        left = None
        if _cell(row, "deleted_at"):
            status, reason = S.UNSUBSCRIBED, "Ghost: deleted member"
            left = statuses.when(_cell(row, "deleted_at"))
        else:
            value = _cell(row, "subscribed_to_emails")
            status = statuses.status_of(statuses.GHOST, "subscribed_to_emails", value)
            reason = f"Ghost: subscribed_to_emails={value.lower()}"
        return ImportedSubscriber(
            email=email,
            status=status,
            name=_name(_unguard(_cell(row, "name"))),
            topics=_topics(_unguard(_cell(row, "labels")).split(","), source),
            reason=reason,
            unsubscribed_at=left,
        )

    return record


def _listmonk(table: Mapping[str, S]) -> Callable[[Source], Mapper]:
    def build(source: Source) -> Mapper:
        def record(row: Row) -> ImportedSubscriber:
            email = check_email(_cell(row, "email"))
            value = _cell(row, "status")
            status = statuses.status_of(table, "status", value)
            name = _name(_cell(row, "name"))
            reason = f"listmonk: status={value.lower()}"
            return ImportedSubscriber(email, status, name, reason=reason)

        return record

    return build


SUBSTACK_DELETED = "@deletion-request.substack.com"


def _substack(source: Source) -> Mapper:
    def record(row: Row) -> ImportedSubscriber:
        raw = _cell(row, "email")
        if raw.lower().endswith(SUBSTACK_DELETED):
            raise ValueError("a Substack deletion-request placeholder, not an address")
        email = check_email(raw)
        value = _cell(row, "email_disabled")
        status = statuses.status_of(statuses.SUBSTACK, "email_disabled", value)
        reason = f"Substack: email_disabled={value.lower()}"
        return ImportedSubscriber(email, status, reason=reason)

    return record


def _left(status: S | None, reason: str, left: str, said: str) -> tuple[S, str]:
    """An export's unsubscribe date (``left``; ``said`` names its column) makes the
    row unsubscribed whatever its status column says, unless that says a stronger
    stop (a bounce, a complaint, a block), which stands."""
    if status is not None and (not left or status in statuses.STOPPED):
        return status, reason
    return S.UNSUBSCRIBED, f"{said} set"


def _buttondown(source: Source) -> Mapper:
    def record(row: Row) -> ImportedSubscriber:
        email = check_email(_cell(row, "email"))
        value = _cell(row, "subscriber_type")
        left = _cell(row, "unsubscription_date")
        status, reason = _left(
            statuses.status_of(statuses.BUTTONDOWN, "subscriber_type", value),
            f"Buttondown: subscriber_type={value.lower()}",
            left,
            "Buttondown: unsubscription_date",
        )
        return ImportedSubscriber(
            email=email,
            status=status,
            topics=_topics(_cell(row, "tags").split(";"), source),
            reason=reason,
            unsubscribed_at=statuses.when(left),
        )

    return record


def _beehiiv(source: Source) -> Mapper:
    def record(row: Row) -> ImportedSubscriber:
        email = check_email(_cell(row, "email"))
        value = _cell(row, "status")
        left = _cell(row, "unsubscribed_at")
        if left:  # unsubscribed: a status value we do not know is no matter then
            known = statuses.BEEHIIV.get(value.lower())
        else:
            known = statuses.status_of(statuses.BEEHIIV, "status", value)
        reason = f"beehiiv: status={value.lower()}"
        status, reason = _left(known, reason, left, "beehiiv: unsubscribed_at")
        name = _name(_cell(row, "first name"), _cell(row, "last name"))
        return ImportedSubscriber(
            email, status, name, reason=reason, unsubscribed_at=statuses.when(left)
        )

    return record


def _mailchimp_format(kind: str | None) -> Format:
    return Format(
        name=f"mailchimp-{kind}" if kind else "mailchimp",
        label=f"Mailchimp {kind} members export" if kind else "Mailchimp audience export",
        required=("email address",),
        uses=_MAILCHIMP_USES,
        recognise=(lambda h: "email address" in h) if kind is None else _never,
        mapper=_mailchimp(kind),
        describe=lambda source: f"Mailchimp {_mailchimp_kind(source, kind)} members export",
    )


FORMATS: tuple[Format, ...] = (
    Format(
        "digest",
        "digest subscriber list",
        ("email",),
        frozenset(EXPORT_COLUMNS),
        lambda h: "email" in h and h <= frozenset(EXPORT_COLUMNS),
        _own,
    ),
    Format(
        "substack",
        "Substack subscriber export",
        ("email", "email_disabled"),
        frozenset(("email", "email_disabled")),
        lambda h: bool(h & {"email_disabled", "active_subscription"}),
        _substack,
    ),
    Format(
        "buttondown",
        "Buttondown subscriber export",
        ("email", "subscriber_type"),
        frozenset(("email", "subscriber_type", "tags", "unsubscription_date")),
        lambda h: "subscriber_type" in h,
        _buttondown,
    ),
    Format(
        "ghost",
        "Ghost members export",
        ("email", "subscribed_to_emails"),
        frozenset(("email", "name", "subscribed_to_emails", "deleted_at", "labels")),
        lambda h: "subscribed_to_emails" in h,
        _ghost,
    ),
    Format(
        "listmonk",
        "listmonk subscribers export",
        ("email", "status"),
        frozenset(("email", "name", "status")),
        lambda h: {"uuid", "status"} <= h,
        _listmonk(statuses.LISTMONK),
        "listmonk's 'enabled' does not say a subscription was confirmed: if the export "
        "holds only subscriptions that get campaigns (a list's confirmed subscribers, or a "
        "single opt-in list's), import it with --format listmonk-subscribed. A pending "
        "address stays pending once written: check with --dry-run first.",
    ),
    Format(
        "listmonk-subscribed",
        "listmonk subscribers export (subscribed only)",
        ("email", "status"),
        frozenset(("email", "name", "status")),
        _never,
        _listmonk(statuses.LISTMONK_SUBSCRIBED),
    ),
    _mailchimp_format(None),
    *(_mailchimp_format(kind) for kind in reversed(_MAILCHIMP_KINDS)),
    Format(
        "beehiiv",
        "beehiiv subscriber export",
        ("email", "status"),
        frozenset(("email", "first name", "last name", "status", "unsubscribed_at")),
        lambda h: {"email", "status"} <= h and bool(h & {"tier", "unsubscribed_at"}),
        _beehiiv,
    ),
)


def recognise(header: tuple[str, ...]) -> Format | None:
    """The first format whose signature the header has."""
    columns = frozenset(header)
    return next((f for f in FORMATS if f.recognise(columns)), None)


def named(name: str) -> Format | None:
    return next((f for f in FORMATS if f.name == name.strip().lower()), None)
