"""OPML feed lists (the export format of feed readers) into ``[[sources]]`` tables,
and the configured feeds out as OPML.

A file is read leniently but safely: :mod:`digest.sources.opml_repair` first repairs,
as text and line by line, the errors real exports contain (a bare ``&`` in a URL,
HTML entities, a wrong encoding declaration ...) and refuses any DOCTYPE but a bare
one; then defusedxml parses strictly, with declared entities (billion laughs),
external entities and DTDs refused again before anything is expanded or fetched.
Nested outlines are folders; a feed's topic hint comes from its ``category``
attribute, else the folders around it, preferring a name that is one of the
configured sections. A feed's ``htmlUrl`` is its source's ``site``.

What OPML has no word for goes in digest's own namespace (:data:`DIGEST_NS`), which
other readers ignore: ``digest:enabled="false"`` on a disabled feed, so that it comes
back disabled.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from digest.errors import ConfigError, SourceError
from digest.settings.config import Settings
from digest.settings.fields import LANGUAGE_TAG, is_http_url
from digest.settings.sources import SourceSettings
from digest.sources.http import Fetcher
from digest.sources.opml_repair import FORBIDDEN_CHARACTERS, Repaired, repair
from digest.urls import canonical_url

MAX_BYTES = 10 * 1024 * 1024
DIGEST_NS = "urn:x-digest:opml"  # digest's own outline attributes
_ENABLED = f"{{{DIGEST_NS}}}enabled"
ET.register_namespace("digest", DIGEST_NS)
_COMMENT_FORBIDS = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline."""

    title: str
    url: str  # xmlUrl; empty for a leaf outline that is not a feed
    site: str | None = None  # htmlUrl
    categories: tuple[str, ...] = ()  # category paths, then enclosing folders, innermost first
    language: str | None = None
    enabled: bool = True  # digest:enabled="false": a feed exported disabled


@dataclass(frozen=True, slots=True)
class FeedList:
    """The outlines of one OPML file and what was repaired to read it."""

    origin: str  # the file or URL
    feeds: list[OpmlFeed]
    repairs: list[str] = field(default_factory=list)  # "line 16: bare '&' read as '&amp;'"


@dataclass(frozen=True, slots=True)
class NewSource:
    name: str
    url: str
    topic: str | None
    language: str | None
    site: str | None  # an http(s) URL, or None
    enabled: bool = True


@dataclass(slots=True)
class ImportPlan:
    """What importing a feed list would add to a configuration, and what it skips."""

    added: list[NewSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each: what, and why
    found: int = 0  # outlines with an xmlUrl
    not_feeds: int = 0  # leaf outlines without one (each also in ``skipped``)

    def summary(self) -> str:
        """``12 feeds found, 10 added, 2 skipped`` (and the outlines that are no feeds)."""
        line = f"{counted(self.found, 'feed')} found, {len(self.added)} added, "
        line += f"{self.found - len(self.added)} skipped"
        if self.not_feeds:
            plural = "s" if self.not_feeds > 1 else ""
            line += f"; {self.not_feeds} outline{plural} without xmlUrl"
        return line


def read_opml(path: Path) -> FeedList:
    """Every feed outline of an OPML file, in document order (and each leaf outline
    that is not a feed, with an empty ``url``, so that it can be reported).

    Raises :class:`ConfigError` naming the file (and line, for malformed XML).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES} bytes; not a feed list", path=str(path))
    return parse_opml(data, str(path))


def fetch_opml(url: str, fetcher: Fetcher) -> FeedList:
    """:func:`read_opml` for an http(s) URL, fetched as sources are (the same size
    cap, and a host on a private or local address refused at every hop)."""
    try:
        download = fetcher.fetch("feed list", url)
    except SourceError as exc:
        # The Fetcher's hint about local sources does not apply to a feed list.
        reason = exc.reason.split(" (only a local source", 1)[0]
        if reason.startswith("refused to fetch"):
            reason += "; a feed list is fetched from public addresses only"
        raise ConfigError(reason, path=url) from None
    if len(download.body) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES} bytes; not a feed list", path=url)
    return parse_opml(download.body, url, download.content_type)


def is_url(location: str) -> bool:
    """Whether the argument of an import names a URL rather than a file."""
    return re.match(r"^https?://", location, re.IGNORECASE) is not None


def parse_opml(data: bytes, origin: str = "OPML", content_type: str = "") -> FeedList:
    """The outlines of OPML ``data`` (``content_type``: its HTTP header, if fetched),
    repaired as :mod:`digest.sources.opml_repair` says, then parsed strictly."""
    repaired = repair(data, content_type, origin=origin)
    try:
        root = safe_et.fromstring(
            repaired.text, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except ET.ParseError as exc:
        raise ConfigError(_where(exc, repaired), path=origin) from None
    except DefusedXmlException as exc:
        raise ConfigError(
            f"refused: it declares XML entities or external references ({exc}); "
            "OPML has no need for them",
            path=origin,
        ) from None
    if _local(root.tag) != "opml":
        raise ConfigError(f"not OPML: the root element is <{_local(root.tag)}>", path=origin)
    body = next((el for el in root if _local(el.tag) == "body"), None)
    if body is None:
        raise ConfigError("not OPML: no <body> element", path=origin)
    return FeedList(origin, list(_outlines(body, ())), repaired.repairs)


def _where(exc: ET.ParseError, repaired: Repaired) -> str:
    """``line L, column C: reason``, in the file's own columns."""
    line, column = exc.position
    return f"line {line}, column {repaired.column(line, column) + 1}: {_reason(exc)}"


def _outlines(parent: ET.Element, folders: tuple[str, ...]) -> Iterator[OpmlFeed]:
    for outline in parent:
        if _local(outline.tag) != "outline":
            continue
        attrs = {k.lower(): " ".join(v.split()) for k, v in outline.attrib.items()}
        label = attrs.get("title") or attrs.get("text") or ""
        url = attrs.get("xmlurl")
        if url:
            categories = [
                segment
                for category in attrs.get("category", "").split(",")
                for segment in reversed(category.strip().strip("/").split("/"))
                if segment.strip()
            ]
            language = attrs.get("language")
            yield OpmlFeed(
                title=label,
                url=url,
                site=attrs.get("htmlurl") or None,
                categories=(*categories, *reversed(folders)),
                language=language if language and LANGUAGE_TAG.fullmatch(language) else None,
                enabled=attrs.get(_ENABLED, "").strip().lower() != "false",
            )
        elif len(outline) == 0:  # a leaf that is no feed: a web site, a note
            yield OpmlFeed(title=label, url="", site=attrs.get("htmlurl") or None)
        yield from _outlines(outline, (*folders, label) if label else folders)


def plan_import(feeds: Iterable[OpmlFeed], settings: Settings) -> ImportPlan:
    """The sources to add for ``feeds``: feeds already configured (same canonical URL)
    or listed twice are skipped, names are made unique."""
    plan = ImportPlan()
    configured = {canonical_url(s.url): s.name for s in settings.sources if s.url}
    names = {s.name.lower() for s in settings.sources}
    sections = {
        section.name.lower(): section.name
        for edition in settings.editions
        for section in edition.sections
    }
    for feed in feeds:
        url = _http_url(feed.url)
        what = f"{feed.title or feed.url!r} <{feed.url or feed.site or ''}>"
        if not feed.url:
            plan.not_feeds += 1
            plan.skipped.append(f"{what}: no xmlUrl, not a feed")
            continue
        plan.found += 1
        if url is None:
            plan.skipped.append(f"{what}: not an http(s) URL")
            continue
        key = canonical_url(url)
        if key in configured:
            plan.skipped.append(f"{what}: already configured as {configured[key]!r}")
            continue
        name = _unique(feed.title or _host(url), names)
        names.add(name.lower())
        configured[key] = name
        topic = next((sections[c.lower()] for c in feed.categories if c.lower() in sections), None)
        plan.added.append(
            NewSource(
                name=name,
                url=url,
                topic=topic or (feed.categories[0] if feed.categories else None),
                language=feed.language,
                site=feed.site if feed.site and is_http_url(feed.site) else None,
                enabled=feed.enabled,
            )
        )
    return plan


def sources_toml(sources: Iterable[NewSource], comment: str = "") -> str:
    """``[[sources]]`` tables for ``sources``, ready to append to a config file."""
    out = [f"\n# {_one_line(comment)}\n" if comment else "\n"]
    for source in sources:
        out.append("\n[[sources]]\n")
        out.append(f"name = {_toml_string(source.name)}\n")
        out.append('kind = "feed"\n')
        out.append(f"url = {_toml_string(source.url)}\n")
        if source.topic:
            out.append(f"topic = {_toml_string(source.topic)}\n")
        if source.language:
            out.append(f"language = {_toml_string(source.language)}\n")
        if source.site:
            out.append(f"site = {_toml_string(source.site)}\n")
        if not source.enabled:
            out.append("enabled = false\n")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class OpmlExport:
    document: bytes  # OPML 2.0, UTF-8
    exported: int
    left_out: list[str]  # one line each: which source, and why


def export_opml(sources: Iterable[SourceSettings], *, title: str, now: datetime) -> OpmlExport:
    """Every feed with a URL as an OPML 2.0 outline (``text`` and ``title`` its name,
    ``xmlUrl``, ``htmlUrl`` its ``site`` and ``language`` when set) inside a folder
    named after its topic, in config order; a disabled feed too, marked
    ``digest:enabled="false"``. Pages, folders and feeds read from a file are left out
    (an OPML list carries feed URLs), each named in ``left_out``."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    exported, left_out = 0, []
    for source in sources:
        if source.kind != "feed" or source.url is None:
            why = f"a {source.kind} source" if source.kind != "feed" else f"read from {source.path}"
            left_out.append(f"{source.name!r}: {why}, not a feed URL")
            continue
        parent = body
        if source.topic:
            topic = _xml_text(source.topic)
            if topic not in folders:
                folders[topic] = ET.SubElement(body, "outline", text=topic, title=topic)
            parent = folders[topic]
        name = _xml_text(source.name)
        outline = {"type": "rss", "text": name, "title": name, "xmlUrl": source.url}
        if source.site:
            outline["htmlUrl"] = source.site
        if source.language:
            outline["language"] = source.language
        if not source.enabled:
            outline[_ENABLED] = "false"
        ET.SubElement(parent, "outline", outline)
        exported += 1
    ET.indent(root, space="  ")
    document = ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    return OpmlExport(document, exported, left_out)


def counted(n: int, noun: str) -> str:
    """``1 feed``, ``2 feeds``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _xml_text(value: str) -> str:
    return FORBIDDEN_CHARACTERS.sub("", value)


def _toml_string(value: str) -> str:
    # JSON's string escapes are a subset of TOML's basic-string escapes; TOML also
    # wants DEL escaped, which JSON leaves as it is.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _one_line(value: str) -> str:
    """``value`` as one line of a TOML comment, which allows no control character."""
    return " ".join(_COMMENT_FORBIDS.sub(" ", value).split())


def _http_url(url: str) -> str | None:
    """``url`` if http(s); ``feed:`` URLs (``feed://host/x``, ``feed:https://...``)
    become the http(s) URL they stand for."""
    url = url.strip()
    if url.lower().startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    if re.match(r"^https?://[^\s/]+", url, re.IGNORECASE) and not re.search(r"\s", url):
        return url
    return None


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _unique(name: str, taken: set[str]) -> str:
    name = name[:200]
    if name.lower() not in taken:
        return name
    n = 2
    while f"{name} ({n})".lower() in taken:
        n += 1
    return f"{name} ({n})"


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _reason(exc: ET.ParseError) -> str:
    return str(exc).split(":", 1)[0]
