"""OPML feed lists (the export format of feed readers) into ``[[sources]]`` tables.

The file is parsed with defusedxml: a declared entity (billion laughs), an external
entity or DTD is refused before anything is expanded or fetched. Nested outlines are
folders; a feed's topic hint comes from its ``category`` attribute, else the folders
around it, preferring a name that is one of the configured sections.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from digest.errors import ConfigError
from digest.settings.config import Settings
from digest.settings.fields import LANGUAGE_TAG
from digest.urls import canonical_url

MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline."""

    title: str
    url: str  # xmlUrl; empty for a leaf outline that is not a feed
    site: str | None = None  # htmlUrl
    categories: tuple[str, ...] = ()  # category paths, then enclosing folders, innermost first
    language: str | None = None


@dataclass(frozen=True, slots=True)
class NewSource:
    name: str
    url: str
    topic: str | None
    language: str | None
    site: str | None


@dataclass(slots=True)
class ImportPlan:
    """What importing a feed list would add to a configuration, and what it skips."""

    added: list[NewSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each: what, and why


def read_opml(path: Path) -> list[OpmlFeed]:
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


def parse_opml(data: bytes, origin: str = "OPML") -> list[OpmlFeed]:
    try:
        root = safe_et.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except ET.ParseError as exc:
        line, column = exc.position
        raise ConfigError(
            f"line {line}, column {column + 1}: {_reason(exc)}", path=origin
        ) from None
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
    return list(_outlines(body, ()))


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
            plan.skipped.append(f"{what}: no xmlUrl, not a feed")
            continue
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
                site=feed.site,
            )
        )
    return plan


def sources_toml(sources: Iterable[NewSource], comment: str = "") -> str:
    """``[[sources]]`` tables for ``sources``, ready to append to a config file."""
    out = [f"\n# {comment}\n" if comment else "\n"]
    for source in sources:
        out.append("\n[[sources]]\n")
        if source.site:
            out.append(f"# site: {_one_line(source.site)}\n")
        out.append(f"name = {_toml_string(source.name)}\n")
        out.append('kind = "feed"\n')
        out.append(f"url = {_toml_string(source.url)}\n")
        if source.topic:
            out.append(f"topic = {_toml_string(source.topic)}\n")
        if source.language:
            out.append(f"language = {_toml_string(source.language)}\n")
    return "".join(out)


def _toml_string(value: str) -> str:
    # JSON's string escapes are a subset of TOML's basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def _one_line(value: str) -> str:
    return " ".join(value.split())


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
