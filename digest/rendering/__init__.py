"""Rendering: an edition to email HTML (Jinja2 -> MJML -> HTML) and plain text.

The packaged templates in ``templates/`` can be overridden by name from a
deployment's ``templates/`` folder; an override can extend the original as
``{% extends "default:base.mjml.j2" %}``. An edition is rendered and compiled once
per combination of sections, with placeholders where per-subscriber values go;
:meth:`Renderer.personalise` fills them by substitution, escaping each value for
HTML. The placeholders carry a random nonce, so feed text cannot forge one.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from mjml import mjml2html

from digest.errors import RenderError
from digest.models import Edition, RenderedMessage, Section, Subscriber
from digest.urls import is_web_url

PERSONAL_FIELDS = ("greeting", "unsubscribe_url")


def make_environment(templates_dir: Path | None) -> jinja2.Environment:
    """The Jinja environment shared by email, preview and web pages."""
    packaged = jinja2.PackageLoader("digest.rendering", "templates")
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({"default": packaged}, delimiter=":")]
    if templates_dir is not None and templates_dir.is_dir():
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders.append(packaged)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml.j2", "html.j2"), default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["is_web_url"] = is_web_url
    return env


@dataclass(frozen=True, slots=True)
class RenderedEdition:
    """An edition's HTML and text with per-subscriber placeholders still in them."""

    edition_key: str
    subject: str
    html: str
    text: str
    nonce: str


class Renderer:
    """Renders editions through one Jinja environment."""

    def __init__(
        self,
        templates_dir: Path | None,
        *,
        base_url: str,
        postal_address: str = "",
        lang: str = "en",
    ) -> None:
        self.env = make_environment(templates_dir)
        self.base_url = base_url.rstrip("/")
        self.postal_address = postal_address
        self.lang = lang

    def web_url(self, edition: Edition) -> str:
        return f"{self.base_url}/editions/{edition.name}/{edition.period}"

    def render(
        self, edition: Edition, sections: Sequence[Section] | None = None, preheader: str = ""
    ) -> RenderedEdition:
        """Render and compile once; raises :class:`RenderError` on any template problem."""
        nonce = secrets.token_hex(8)
        chosen = [s for s in (edition.sections if sections is None else sections) if s.stories]
        context = {
            "edition": edition,
            "sections": chosen,
            "lang": self.lang,
            "date_label": _date_label(edition.period),
            "preheader": preheader or _preheader(chosen),
            "web_url": self.web_url(edition),
            "postal_address": self.postal_address,
            **{field: placeholder(nonce, field) for field in PERSONAL_FIELDS},
        }
        try:
            mjml_source = self.env.get_template("edition.mjml.j2").render(context)
            text = self.env.get_template("edition.txt.j2").render(context)
        except jinja2.TemplateError as exc:
            where = (
                f" ({exc.filename}:{exc.lineno})"
                if isinstance(exc, jinja2.TemplateSyntaxError)
                else ""
            )
            raise RenderError(f"template error{where}: {exc}") from None
        try:
            html_out = mjml2html(mjml_source, disable_comments=True)
        except (ValueError, RuntimeError) as exc:
            raise RenderError(f"MJML compile failed: {exc}") from None
        subject = edition.subject
        return RenderedEdition(edition.key, subject, html_out, _tidy_text(text), nonce)

    def personalise(
        self, rendered: RenderedEdition, subscriber: Subscriber, unsubscribe_url: str
    ) -> RenderedMessage:
        return personalise(rendered, subscriber, unsubscribe_url)

    def preview(self, edition: Edition, preheader: str = "") -> RenderedMessage:
        """The edition as a subscriber without a name sees it (previews, `build --html`)."""
        return self.personalise(
            self.render(edition, preheader=preheader),
            Subscriber(email="preview@example.org"),
            self.web_url(edition) + "#unsubscribe",
        )


def personal_values(subscriber: Subscriber, unsubscribe_url: str) -> dict[str, str]:
    """The per-subscriber values, unescaped, by placeholder field."""
    return {
        "greeting": f"Hello {subscriber.name}," if subscriber.name else "Hello,",
        "unsubscribe_url": unsubscribe_url,
    }


def personalise(
    rendered: RenderedEdition, subscriber: Subscriber, unsubscribe_url: str
) -> RenderedMessage:
    """Fill the placeholders for one subscriber: cheap string substitution, each
    value HTML-escaped in the HTML part."""
    html_out, text_out = rendered.html, rendered.text
    for field, value in personal_values(subscriber, unsubscribe_url).items():
        token = placeholder(rendered.nonce, field)
        html_out = html_out.replace(token, html.escape(value, quote=True))
        text_out = text_out.replace(token, value)
    return RenderedMessage(
        to=subscriber,
        subject=rendered.subject,
        html=html_out,
        text=text_out,
        unsubscribe_url=unsubscribe_url,
        edition_key=rendered.edition_key,
    )


def sections_for(edition: Edition, topics: Sequence[str]) -> tuple[Section, ...]:
    """The sections a subscriber chose; all of them when the choice matches none."""
    wanted = {t.lower() for t in topics}
    chosen = tuple(s for s in edition.sections if s.name.lower() in wanted)
    return chosen or edition.sections


def placeholder(nonce: str, field: str) -> str:
    """Where a per-subscriber value goes; the nonce keeps feed text from forging one."""
    return f"__dg{nonce}_{field}__"


def _date_label(period: str) -> str:
    try:
        return datetime.fromisoformat(period).strftime("%A, %d %B %Y")
    except ValueError:
        return period


def _preheader(sections: Sequence[Section]) -> str:
    headlines = [story.headline for section in sections for story in section.stories[:1]]
    return " · ".join(headlines[:3])[:140]


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"
