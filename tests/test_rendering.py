"""Rendering: golden HTML/text for a fixed edition, escaping, overrides, personalisation."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import RenderError
from digest.models import Edition, Section, Story, StoryLink, StoryRef, Subscriber
from digest.rendering.groups import sections_for
from digest.rendering.personal import personalise
from digest.rendering.renderer import Renderer

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _story(n: int, headline: str = "", summary: str = "", url: str | None = None) -> Story:
    return Story(
        id=f"s{n}",
        headline=headline or f"Council approves plan number {n}",
        summary=summary or f"The council approved plan {n} on Thursday. Work starts in spring.",
        articles=(
            StoryLink(f"a{n}", "Harbour Times", "t", url or f"https://harbourtimes.example/{n}"),
            StoryLink(f"b{n}", "Northern Ledger", "t", f"https://northernledger.example/{n}"),
        ),
        score=2.0,
    )


def _edition(*sections: Section) -> Edition:
    return Edition(
        name="morning",
        title="The Morning Digest",
        subject="The Morning Digest — 2026-11-27",
        period="2026-11-27",
        built_at=datetime(2026, 11, 27, 6, 0, tzinfo=UTC),
        sections=sections
        or (
            Section("World", (_story(1), _story(2))),
            Section("Sport", (_story(3),)),
        ),
    )


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    return Renderer(
        tmp_path / "no-overrides", base_url="https://digest.example.org", postal_address="1 Quay St"
    )


def _personal(renderer: Renderer, edition: Edition, name: str = "Ana") -> tuple[str, str]:
    message = personalise(
        renderer.render(edition),
        Subscriber("ana@mail.example", name),
        "https://digest.example.org/u/TOKEN",
    )
    return message.html, message.text


def test_golden_html_and_text(renderer: Renderer, golden) -> None:  # type: ignore[no-untyped-def]
    html, text = _personal(renderer, _edition())
    golden("edition.html", html)
    golden("edition.txt", text)


def test_every_story_link_and_section_is_in_both_parts(renderer: Renderer) -> None:
    html, text = _personal(renderer, _edition())
    for n in (1, 2, 3):
        assert f'href="https://harbourtimes.example/{n}"' in html
        assert f"https://harbourtimes.example/{n}" in text
    assert "WORLD" in html and "== SPORT ==" in text
    assert "Hello Ana," in html and "Hello Ana," in text
    assert (
        "https://digest.example.org/u/TOKEN" in html
        and "Unsubscribe: https://digest.example.org/u/TOKEN" in text
    )


def test_hostile_text_is_escaped_and_bad_links_dropped(renderer: Renderer) -> None:
    story = _story(
        1, headline=f"Gallery {HOSTILE}", summary=f"Summary {HOSTILE}", url="javascript:alert(1)"
    )
    html, _ = _personal(renderer, _edition(Section("Culture", (story,))))
    assert "<script" not in html
    assert "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    assert re.search(r"<img[^>]+onerror", html) is None
    assert "javascript:" not in html
    assert "&lt;script&gt;" in html


def test_no_markup_from_feeds_inside_attributes(renderer: Renderer) -> None:
    story = _story(
        1, headline=f"Gallery {HOSTILE}", url='https://x.example/a"><script>alert(1)</script>'
    )
    story = replace(story, image="https://x.example/i.jpg?<script>")
    html, _ = _personal(renderer, _edition(Section("Culture", (story,))))
    assert "<script" not in html.lower()
    for value in re.findall(r'(?:href|src|alt)="([^"]*)"', html):
        assert "<" not in value and ">" not in value


def test_subscriber_name_is_escaped_when_substituted(renderer: Renderer) -> None:
    html, text = _personal(renderer, _edition(), name="<b>Eve</b>")
    assert "Hello &lt;b&gt;Eve&lt;/b&gt;," in html
    assert "Hello <b>Eve</b>," in text  # plain text needs no escaping


def test_feed_text_cannot_forge_a_placeholder(renderer: Renderer) -> None:
    rendered = renderer.render(_edition())
    forged = "__dg0000000000000000_unsubscribe_url__"
    assert forged not in rendered.html
    assert rendered.nonce not in "0000000000000000"


def test_override_by_name_can_extend_the_default(tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "edition.mjml.j2").write_text(
        '{% extends "default:edition.mjml.j2" %}{% block header %}'
        "<mj-section><mj-column><mj-text>CUSTOM MASTHEAD</mj-text></mj-column></mj-section>"
        "{% endblock %}"
    )
    renderer = Renderer(overrides, base_url="https://digest.example.org")
    html, _ = _personal(renderer, _edition())
    assert "CUSTOM MASTHEAD" in html
    assert (
        'href="https://harbourtimes.example/1"' in html
    )  # the default content block still renders


def test_template_error_is_a_render_error(tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "edition.txt.j2").write_text("{{ edition.title ")
    with pytest.raises(RenderError, match="template error"):
        Renderer(overrides, base_url="https://digest.example.org").render(_edition())


def test_undefined_variable_is_a_render_error(tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "edition.txt.j2").write_text("{{ no_such_thing }}")
    with pytest.raises(RenderError):
        Renderer(overrides, base_url="https://digest.example.org").render(_edition())


def test_sections_for_subscriber_topics() -> None:
    edition = _edition()
    assert [s.name for s in sections_for(edition, ["sport"])] == ["Sport"]
    assert [s.name for s in sections_for(edition, [])] == ["World", "Sport"]
    assert [s.name for s in sections_for(edition, ["Gardening"])] == ["World", "Sport"]


def test_twenty_story_edition_stays_under_gmail_clip(renderer: Renderer) -> None:
    long = "A sentence of a summary that is of a realistic length for a digest. " * 4
    stories = tuple(_story(n, summary=long) for n in range(20))
    html, _ = _personal(
        renderer, _edition(Section("World", stories[:10]), Section("Business", stories[10:]))
    )
    assert len(html.encode("utf-8")) < 102 * 1024


def test_clip_guard_moves_lowest_ranked_stories_to_the_web(renderer: Renderer) -> None:
    long = "A long summary sentence that fills the email with plenty of words to read. " * 12
    stories = tuple(
        Story(
            id=f"s{n}",
            headline=f"Story number {n}",
            summary=long,
            articles=(StoryLink(f"a{n}", "Outlet", "t", f"https://outlet.example/{n}"),),
            score=float(n),
        )
        for n in range(60)
    )
    edition = _edition(Section("World", stories))
    rendered = renderer.render(edition)
    assert rendered.dropped > 0
    assert len(rendered.html.encode("utf-8")) <= 100 * 1024
    html, text = _personal(renderer, edition)
    assert len(html.encode("utf-8")) < 102 * 1024
    assert f"{rendered.dropped} more stories on the web" in html
    assert (
        f"{rendered.dropped} more stories on the web: https://digest.example.org/editions/morning/2026-11-27"
        in text
    )
    # The best-ranked stay, the lowest-ranked go.
    assert "Story number 59" in html and "Story number 0<" not in html
    assert renderer.render(edition, budget=None).dropped == 0


def test_dark_mode_and_inlined_css(renderer: Renderer) -> None:
    html, _ = _personal(renderer, _edition())
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert re.search(r'<a href="https://harbourtimes.example/1" style="[^"]*color', html)
    assert '<html lang="en"' in html


def test_second_theme(renderer: Renderer) -> None:
    classic = renderer.render(_edition()).html
    paper = renderer.render(_edition(), theme="paper").html
    assert "#102a43" in classic and "#102a43" not in paper
    assert "Georgia" in paper


def test_thumbnail_has_size_and_alt_and_only_web_sources(renderer: Renderer) -> None:
    with_image = Story(
        id="s1",
        headline="Harbour crane <installed>",
        summary="A crane was installed.",
        articles=(StoryLink("a1", "Harbour Times", "t", "https://harbourtimes.example/1"),),
        image="https://harbourtimes.example/crane.jpg",
    )
    bad_image = Story(
        id="s2",
        headline="Bad image",
        summary="Nothing.",
        articles=(StoryLink("a2", "Harbour Times", "t", "https://harbourtimes.example/2"),),
        image="javascript:alert(1)",
    )
    html = renderer.render(_edition(Section("World", (with_image, bad_image)))).html
    [img] = re.findall(r"<img[^>]*>", html)
    assert 'src="https://harbourtimes.example/crane.jpg"' in img
    assert 'alt="Harbour crane ‹installed›"' in img  # no angle brackets in attributes
    assert 'width="552"' in img and 'height="276"' in img


def test_top_stories_lead_a_long_edition(renderer: Renderer) -> None:
    stories = tuple(_story(n) for n in range(8))
    html, text = _personal(renderer, _edition(Section("World", stories)))
    assert "TOP STORIES" in html and "== TOP STORIES ==" in text
    # Each story appears once: the top ones are not repeated in their section.
    assert text.count("* Council approves plan number 1\n") == 1


def test_web_page_has_every_story_and_no_placeholders(renderer: Renderer) -> None:
    page = renderer.web_page(_edition())
    assert "__dg" not in page and "Hello," in page
    for n in (1, 2, 3):
        assert f"https://harbourtimes.example/{n}" in page


def test_an_update_is_labelled_in_both_parts(renderer: Renderer) -> None:
    update = replace(_story(1), update_of=StoryRef("morning/2026-11-26", "s0"))
    html, text = _personal(renderer, _edition(Section("World", (update, _story(2)))))
    assert "* Update: Council approves plan number 1\n" in text
    assert "* Council approves plan number 2\n" in text and text.count("Update:") == 1
    assert re.search(
        r'<span class="dg-update" style="color: ?#[0-9a-f]{6};?">Update:</span> '
        r'<a href="https://harbourtimes.example/1"',
        html,
    )
    assert html.count(">Update:</span>") == 1
