"""Rendering: an edition to email HTML (Jinja2 -> MJML -> HTML, CSS inlined) and a
plain-text part, through one Jinja environment for email, preview and web version.

The packaged templates in ``templates/`` can be overridden by name from a
deployment's ``templates/`` folder; an override can extend the original as
``{% extends "default:base.mjml.j2" %}``. Their words go through gettext
(``{{ _("Unsubscribe") }}``): each language has its own environment with its
catalogue installed (``digest.language.catalogues``), made on first use and never
switched, so renders in different languages can run at once (the web app).

Gmail clips messages over 102 KB, so a render that would exceed the budget moves its
lowest-ranked stories to a "more stories on the web" link, and says how many (never
clipped silently).
"""

from __future__ import annotations

import gettext
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import markupsafe
from mjml import mjml2html

from digest.cleaning.text import cut_at_word
from digest.errors import RenderError
from digest.language.catalogues import Messages, messages
from digest.models import Edition, RenderedMessage, Section, Story, Subscriber
from digest.rendering.attribution import OUTLETS_SHOWN, attribution
from digest.rendering.personal import (
    GREETINGS,
    PERSONAL_FIELDS,
    RenderedEdition,
    personalise,
    placeholder,
)
from digest.rendering.themes import THEMES, Theme
from digest.urls import attribute_url, is_web_url

CLIP_BYTES = 102 * 1024  # Gmail clips the HTML beyond this
# A story whose text alone would take more than 1/STORY_SHARE of the budget is shrunk.
STORY_SHARE = 8
MAX_LINKS_SHOWN = 12
# What the budget keeps free for the per-subscriber values and the headers' share.
PERSONAL_MARGIN = 2 * 1024
TOP_STORIES = 3
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
_DARK_META = (
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
)


# Characters XML 1.0 forbids: one in any value makes the MJML compiler refuse the
# whole edition, so every value printed by a template loses them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """Jinja's ``finalize``: drop the characters XML forbids from printed strings."""
    if isinstance(value, str) and _NOT_XML.search(value):
        cleaned = _NOT_XML.sub("", value)
        return markupsafe.Markup(cleaned) if isinstance(value, markupsafe.Markup) else cleaned
    return value


def make_environment(
    templates_dir: Path | None, translations: gettext.NullTranslations | None = None
) -> jinja2.Environment:
    """The Jinja environment shared by email, preview and web pages, with the words
    of one language (``translations``; English without)."""
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
        finalize=xml_safe,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations or gettext.NullTranslations(), newstyle=True
    )
    env.filters["is_web_url"] = is_web_url
    # The CSS inliner re-serialises the HTML and unescapes attribute values, so text
    # and URLs from feeds that go into attributes lose their angle brackets first.
    env.filters["attr_url"] = attribute_url
    env.filters["attr_text"] = lambda value: str(value).replace("<", "‹").replace(">", "›")
    return env


class Renderer:
    """Renders editions through one Jinja environment per language (the edition's)."""

    def __init__(
        self,
        templates_dir: Path | None,
        *,
        base_url: str,
        postal_address: str = "",
        locales_dir: Path | None = None,
    ) -> None:
        self.templates_dir = templates_dir
        self.locales_dir = locales_dir
        self.base_url = base_url.rstrip("/")
        self.postal_address = postal_address
        self._environments: dict[str, jinja2.Environment] = {}
        self._lock = threading.Lock()

    def words(self, language: str) -> Messages:
        """The words and date formats of ``language`` (a BCP 47 tag)."""
        return messages(language, self.locales_dir)

    def environment(self, language: str) -> jinja2.Environment:
        """The environment of ``language``, made once: never switched between renders."""
        with self._lock:
            env = self._environments.get(language)
            if env is None:
                env = make_environment(self.templates_dir, self.words(language).translations)
                self._environments[language] = env
            return env

    def web_url(self, edition: Edition) -> str:
        return f"{self.base_url}/editions/{edition.name}/{edition.period}"

    def render(
        self,
        edition: Edition,
        sections: Sequence[Section] | None = None,
        preheader: str = "",
        *,
        theme: str = "classic",
        budget: int | None = CLIP_BYTES - PERSONAL_MARGIN,
    ) -> RenderedEdition:
        """Render and compile once; raises :class:`RenderError` on any template problem.

        With a ``budget`` (bytes of HTML), the lowest-ranked stories move to the web
        version until the HTML fits; ``dropped`` says how many.
        """
        chosen = [s for s in (edition.sections if sections is None else sections) if s.stories]
        if budget is not None:
            # No single story may take the email: one that alone would fill a large
            # share of the budget is shrunk first (the web version keeps it whole).
            share = budget // STORY_SHARE
            chosen = [
                replace(s, stories=tuple(_lightened(st, share) for st in s.stories)) for s in chosen
            ]
        ranked = sorted(
            (story for s in chosen for story in s.stories), key=lambda st: (st.score, st.id)
        )
        dropped: set[str] = set()
        while True:
            kept = [
                Section(
                    s.name, tuple(st for st in s.stories if st.id not in dropped), s.description
                )
                for s in chosen
            ]
            rendered = self._render(
                edition, kept, preheader, THEMES[theme], len(dropped), web=budget is None
            )
            if budget is None or len(rendered.html.encode("utf-8")) <= budget:
                return rendered
            remaining = [st for st in ranked if st.id not in dropped]
            if len(remaining) <= 1:
                if not remaining or len(dropped) == len(ranked):
                    return rendered
                dropped.update(st.id for st in remaining)  # even one story is too much
                continue
            # Drop roughly the excess share at once, then one at a time near the edge.
            excess = len(rendered.html.encode("utf-8")) / budget - 1
            step = max(1, int(len(remaining) * excess / 2))
            dropped.update(st.id for st in remaining[: min(step, len(remaining) - 1)])

    def _render(
        self,
        edition: Edition,
        sections: Sequence[Section],
        preheader: str,
        theme: Theme,
        more: int,
        *,
        web: bool = False,
    ) -> RenderedEdition:
        nonce = secrets.token_hex(8)
        words = self.words(edition.language)
        context = self._context(edition, sections, preheader, theme, more, web=web)
        context.update({field: placeholder(nonce, field) for field in PERSONAL_FIELDS})
        context["date_label"] = words.long_date(edition.period)
        env = self.environment(edition.language)
        try:
            mjml_source = env.get_template("edition.mjml.j2").render(context)
            text = env.get_template("edition.txt.j2").render(context)
        except jinja2.TemplateError as exc:
            where = (
                f" ({exc.filename}:{exc.lineno})"
                if isinstance(exc, jinja2.TemplateSyntaxError)
                else ""
            )
            raise RenderError(f"template error{where}: {exc}") from None
        try:
            html_out = mjml2html(mjml_source, disable_comments=True)
            # mjml-python leaves `mj-style inline="inline"` rules in <style>: inline them,
            # keeping the <style> blocks for media queries and dark mode.
            html_out = _INLINER.inline(html_out)
        except (ValueError, RuntimeError, css_inline.InlineError) as exc:
            raise RenderError(f"MJML compile failed: {exc}") from None
        html_out = html_out.replace("<head>", "<head>" + _DARK_META, 1)
        return RenderedEdition(
            edition.key,
            edition.subject,
            html_out,
            _tidy_text(text),
            nonce,
            more,
            edition.title,
            greetings=(words.gettext(GREETINGS[0]), words.gettext(GREETINGS[1])),
        )

    def _context(
        self,
        edition: Edition,
        sections: Sequence[Section],
        preheader: str,
        theme: Theme,
        more: int,
        *,
        web: bool,
    ) -> dict[str, Any]:
        """What the templates see, but the per-subscriber placeholders."""
        sections = [s for s in sections if s.stories]
        top = _top_stories(sections)
        top_ids = {story.id for story in top}
        shown = [
            Section(s.name, tuple(st for st in s.stories if st.id not in top_ids), s.description)
            for s in sections
        ]
        return {
            "edition": edition,
            "top_stories": top,
            "sections": [s for s in shown if s.stories],
            "more_stories": more,
            # Each outlet once; the email names a few, the web version every one.
            "outlets": lambda story: attribution(story, None if web else OUTLETS_SHOWN),
            "theme": theme,
            "lang": edition.language,
            "preheader": preheader or _preheader(top or [st for s in sections for st in s.stories]),
            "web_url": self.web_url(edition),
            "postal_address": self.postal_address,
        }

    def preview(
        self,
        edition: Edition,
        preheader: str = "",
        *,
        theme: str = "classic",
        sections: Sequence[Section] | None = None,
    ) -> RenderedMessage:
        """The edition as a subscriber without a name sees it (previews, `build --html`),
        with every section or with the ``sections`` a group of subscribers chose."""
        return personalise(
            self.render(edition, sections, preheader=preheader, theme=theme),
            Subscriber(email="preview@example.org"),
            self.web_url(edition) + "#unsubscribe",
        )

    def web_page(self, edition: Edition, *, theme: str = "classic") -> str:
        """The standalone web version: every story, no budget, no personal values."""
        rendered = self.render(edition, theme=theme, budget=None)
        page = personalise(
            rendered,
            Subscriber(email="reader@example.org"),
            f"{self.base_url}/unsubscribe",
            f"{self.base_url}/preferences",
        )
        return page.html


def _story_bytes(story: Story) -> int:
    """About what a story's own text costs in the email's HTML (with its markup)."""
    links = sum(len(a.source) + len(a.title) + len(a.url or "") + 120 for a in story.articles)
    return 3 * (len(story.headline) + len(story.summary)) + links + 400


def _lightened(story: Story, limit: int) -> Story:
    """The story cut to fit ``limit`` bytes of HTML: a shorter headline and summary,
    fewer links to other outlets. Untouched when it fits already."""
    if _story_bytes(story) <= limit:
        return story
    text_room = max(200, limit // 6)
    articles = story.articles[:MAX_LINKS_SHOWN]
    while len(articles) > 1 and _story_bytes(replace(story, articles=articles)) > limit:
        articles = articles[: len(articles) // 2]
    return replace(
        story,
        headline=cut_at_word(story.headline, min(300, text_room)),
        summary=cut_at_word(story.summary, text_room),
        articles=articles,
    )


def _top_stories(sections: Sequence[Section]) -> list[Story]:
    """The best-ranked stories told by several outlets, when the edition is long
    enough to need a summary of itself."""
    stories = [st for s in sections for st in s.stories]
    if len(stories) < 2 * TOP_STORIES:
        return []
    multi = [st for st in stories if len(st.articles) > 1]
    return sorted(multi, key=lambda st: (-st.score, st.headline))[:TOP_STORIES]


def _preheader(stories: Sequence[Story]) -> str:
    return " · ".join(story.headline for story in stories[:3])[:140]


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"
