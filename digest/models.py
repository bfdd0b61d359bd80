"""The domain objects every stage passes along: frozen dataclasses, no behaviour
beyond small derived values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


def local_period(now: datetime, timezone: str) -> str:
    """The edition period (the local date) that ``now`` falls in."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


@dataclass(frozen=True, slots=True)
class RawDocument:
    """What a source hands over before cleaning: markup or scraped text plus metadata."""

    source: str
    url: str | None
    html: str | None = None  # a whole web page
    fragment: str | None = None  # the article body as HTML, as feeds carry it
    text: str | None = None  # scraped plain text, noisy
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    topic_hint: str | None = None
    origin: str = ""  # file path or feed URL, for error messages
    image: str | None = None  # the lead image, when the feed names one
    language: str | None = None  # a BCP 47 tag: the source's setting, else the feed's or page's
    guid: str | None = None  # the feed item's own id (RSS guid, Atom id), when it gives one
    # The outlet, when the source knows it better than the page: a feed's configured
    # name, a saved newsletter's sender. Else the page's site name, else its domain.
    outlet: str | None = None
    # A folder's name is its owner's ("Saved articles"), never a publisher's: when the
    # document names none, its outlet is not known rather than the source's name.
    source_is_outlet: bool = True


@dataclass(frozen=True, slots=True)
class Article:
    """One clean article from one outlet."""

    id: str
    source: str
    title: str
    text: str
    url: str | None = None
    author: str | None = None
    published: datetime | None = None
    credit: str | None = None
    topic_hint: str | None = None
    image: str | None = None
    language: str | None = None
    guid: str | None = None  # the feed item's id: its identity within its source
    # Who published it: None when it is the source's name, "" when not known (a saved
    # file that names no publisher).
    outlet: str | None = None

    @property
    def outlet_name(self) -> str:
        """The name readers see: the publisher, else the source's name ("" when the
        publisher is not known: a story's credits leave it out)."""
        return self.source if self.outlet is None else self.outlet

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p.strip()]


@dataclass(frozen=True, slots=True)
class StoryLink:
    """One outlet's telling of a story, as shown under "also reported by"."""

    article_id: str
    source: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Ranking:
    """Why a story ranks where it does: ``total = (outlets + freshness) * weight``.

    ``outlets`` counts distinct sources, ``freshness`` halves with each day since the
    newest telling, ``weight`` is the highest configured weight among the sources.
    """

    outlets: int
    freshness: float
    weight: float = 1.0

    @property
    def total(self) -> float:
        return (self.outlets + self.freshness) * self.weight


@dataclass(frozen=True, slots=True)
class StoryRef:
    """A story of an earlier edition, which an update links to."""

    edition: str  # the edition's key, "morning/2026-11-26"
    story: str  # the story's id in that edition


@dataclass(frozen=True, slots=True)
class Story:
    """One event, told by one or more articles."""

    id: str
    headline: str
    summary: str
    articles: tuple[StoryLink, ...]
    score: float = 0.0  # the ranking's total
    published: datetime | None = None
    image: str | None = None  # a thumbnail from the lead article, when it has one
    ranking: Ranking | None = None
    # Set when an earlier edition sent this story and this one carries its new reporting.
    update_of: StoryRef | None = None

    @property
    def url(self) -> str | None:
        """The link of the lead article, the one the headline points to."""
        return next((a.url for a in self.articles if a.url), None)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.source for a in self.articles))


@dataclass(frozen=True, slots=True)
class SentStory:
    """A story an earlier edition carried, with its articles: a later edition does not
    repeat it, and sends it again only as an update (``digest.stories.updates``)."""

    ref: StoryRef
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    stories: tuple[Story, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Edition:
    """A built digest, ready to render. ``period`` is the local date it belongs to."""

    name: str
    title: str
    subject: str
    period: str
    built_at: datetime
    sections: tuple[Section, ...]
    timezone: str = "UTC"
    language: str = "en"  # a BCP 47 tag: the language of its chrome (dates, labels)

    @property
    def stories(self) -> list[Story]:
        return [story for section in self.sections for story in section.stories]

    @property
    def key(self) -> str:
        return f"{self.name}/{self.period}"


@dataclass(frozen=True, slots=True)
class Subscriber:
    email: str
    name: str = ""
    timezone: str = "UTC"
    topics: tuple[str, ...] = ()


class DeliveryState(StrEnum):
    """A (edition, subscriber) row of the ledger.

    pending -> sending -> accepted; or failed (retried next run), rejected (the
    provider refused the address), ambiguous (may have been accepted: the operator
    decides); suppressed (unsubscribed, bounced, complained) is never sent.
    """

    PENDING = "pending"
    SENDING = "sending"
    ACCEPTED = "accepted"
    FAILED = "failed"
    REJECTED = "rejected"
    AMBIGUOUS = "ambiguous"
    SUPPRESSED = "suppressed"


class SubscriberStatus(StrEnum):
    """Only active subscribers are sent editions. Paused is the subscriber's own
    choice (preferences page) and only they resume; pending is an imported address
    without evidence of a confirmed sign-up, which only a confirmed sign-up makes
    active; the others are suppressions (blocklisted: by the operator, in the tool
    a list was imported from)."""

    ACTIVE = "active"
    PAUSED = "paused"
    PENDING = "pending"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    DROPPED = "dropped"
    BLOCKLISTED = "blocklisted"


@dataclass(frozen=True, slots=True)
class ImportedSubscriber:
    """One row of an imported list, normalised: what the file says about a person.
    ``None`` means the file does not say, and what is known stays."""

    email: str
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    name: str | None = None
    timezone: str | None = None
    topics: tuple[str, ...] | None = None
    reason: str = ""  # where the status comes from ("Ghost: subscribed_to_emails=false")
    editions: tuple[str, ...] | None = None  # edition names, ("*",) every one; None: unsaid
    unsubscribed_at: datetime | None = None  # when the file says the address left


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One subscriber's email, personalised, ready for a transport."""

    to: Subscriber
    subject: str
    html: str
    text: str
    unsubscribe_url: str
    edition_key: str
    title: str = ""  # the edition's title, for List-Id


@dataclass(frozen=True, slots=True)
class Delivery:
    edition_key: str
    email: str
    state: DeliveryState
    attempts: int = 0
    message_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """What became of the items one fetch of a source listed: ``items = stored +
    known + skipped``. ``known`` were stored already (by an earlier fetch, or as a
    copy from another source); ``reasons`` count the skipped ones by reason."""

    items: int = 0
    stored: int = 0
    known: int = 0
    skipped: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How one source fared in a collection run."""

    name: str
    ok: bool
    counts: ItemCounts = field(default_factory=ItemCounts)
    error: str | None = None
    not_modified: bool = False  # HTTP 304: nothing new, nothing parsed
    failure_streak: int = 0  # failed runs in a row, this one included


@dataclass(slots=True)
class RunReport:
    """What a run did, for the summary table. Mutable: stages append to it."""

    sources: list[SourceReport] = field(default_factory=list)
    documents_skipped: list[str] = field(default_factory=list)
    articles: int = 0
    stories: int = 0
    sections: int = 0
    delivered: int = 0
    already_delivered: int = 0
    failed_deliveries: int = 0  # failed, rejected or ambiguous: anything not accepted
    ambiguous_deliveries: int = 0
    skipped: bool = False  # another process was running the same edition
    held: bool = False  # the edition waits for an editor's approval
    expired: bool = False  # the send stopped at the edition's deadline
    outbox: str | None = None
    preview: str | None = None
    web_version: str | None = None
    edition: str | None = None
    notes: list[str] = field(default_factory=list)
