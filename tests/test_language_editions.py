"""Editions in Spanish and Portuguese, built from made-up articles in those languages
(tests/data/languages: two events told by three outlets each, and one lone report,
none with a language tag): stories grouped by event, summaries of whole sentences
(abbreviations such as "Sr." and "EE.UU." do not end one), sections by the keywords
the edition lists for the language, and golden email parts with the chrome
translated. Articles in different languages never share a story."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.language.sentences import split_sentences
from digest.models import Article, Edition, Subscriber
from digest.pipeline import build_edition
from digest.rendering.personal import personalise
from digest.rendering.renderer import Renderer
from digest.serialise import edition_from_dict, edition_to_dict
from digest.settings.editions import EditionSettings, ScheduleSettings, SectionSettings
from digest.sources.jsonl import article_from_record, read_jsonl
from digest.stories.grouping import group_articles
from digest.summarise.extractive import summarise

DATA = Path(__file__).parent / "data" / "languages"
NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
# One table of keywords per section, by language: each edition reads its own.
TRANSPORT = {"es": ("tren", "cercanías", "transporte"), "pt": ("ônibus", "mobilidade")}
SPORT = {"es": ("fútbol", "gol", "liga", "partido"), "pt": ("futebol", "gol", "campeonato")}
SPANISH = EditionSettings(
    name="manana",
    title="Resumen de la mañana",
    subject="{title} — {long_date}",
    language="es",
    schedule=ScheduleSettings(cron="0 7 * * *", timezone="Europe/Madrid"),
    sections=(
        SectionSettings(name="Transporte", keywords=TRANSPORT),
        SectionSettings(name="Deportes", keywords=SPORT),
    ),
)
PORTUGUESE = EditionSettings(
    name="manha",
    title="Resumo da manhã",
    subject="{title} — {long_date}",
    language="pt-BR",  # no catalogue of its own: Portuguese's
    schedule=ScheduleSettings(cron="0 7 * * *", timezone="America/Sao_Paulo"),
    sections=(
        SectionSettings(name="Transporte", keywords=TRANSPORT),
        SectionSettings(name="Esportes", keywords=SPORT),
    ),
)
EVENTS = {
    "es": [
        {"es-tren-diario", "es-tren-cronica", "es-tren-voz"},
        {"es-futbol-diario", "es-futbol-cronica", "es-futbol-voz"},
        {"es-lluvia-voz"},
    ],
    "pt": [
        {"pt-onibus-folha", "pt-onibus-gazeta", "pt-onibus-jornal"},
        {"pt-futebol-folha", "pt-futebol-gazeta", "pt-futebol-jornal"},
        {"pt-frio-jornal"},
    ],
}
CONFIGS = {"es": SPANISH, "pt": PORTUGUESE}


def articles(name: str) -> list[Article]:
    return [article_from_record(record) for _, record in read_jsonl(DATA / f"{name}.jsonl")]


@pytest.fixture(scope="module", params=["es", "pt"])
def built(request: pytest.FixtureRequest) -> tuple[str, Edition]:
    name = str(request.param)
    return name, build_edition(articles(name), CONFIGS[name], NOW, capped=False)


def test_articles_without_a_tag_are_read_in_their_detected_language() -> None:
    assert {a.language for a in articles("es")} == {"es"}
    assert {a.language for a in articles("pt")} == {"pt"}


def test_stories_are_the_events(built: tuple[str, Edition]) -> None:
    name, edition = built
    found = [{link.article_id for link in story.articles} for story in edition.stories]
    assert sorted(found, key=sorted) == sorted(EVENTS[name], key=sorted)


def test_summaries_are_whole_sentences_of_the_reports(built: tuple[str, Edition]) -> None:
    name, edition = built
    texts = " ".join(" ".join(a.text.split()) for a in articles(name))
    for story in edition.stories:
        sentences = split_sentences(story.summary, name)
        assert sentences, story.headline
        for sentence in sentences:
            assert sentence in texts  # verbatim, never cut inside
            assert re.search(r"[.!?»]$", sentence), sentence
            assert not sentence.endswith(("Sr.", "Sra.", "Dr.", "EE.UU.")), sentence
    summaries = " ".join(story.summary for story in edition.stories)
    person = {"es": "la Sra. Elena García.", "pt": "a Sra. Helena Souza."}[name]
    assert person in summaries  # the title before the name does not end the sentence


def test_summaries_open_with_a_sentence_that_stands_alone(built: tuple[str, Edition]) -> None:
    name, edition = built
    openers = {story.summary.split()[0] for story in edition.stories}
    # A bare verb ("É o primeiro passo ...": it is) leans on what came before.
    assert "É" not in openers
    # A lead that starts with an accented capital ("Álvaro", "Éverton") is a sentence
    # like any other.
    lead = next(a for a in articles(name) if a.text[0] in "ÁÉ" and a.text[1].isalpha())
    assert summarise([lead], language=name).split()[0] == lead.text.split()[0]


def test_sections_by_the_keywords_of_the_language(built: tuple[str, Edition]) -> None:
    name, edition = built
    sections = {
        s.name: {a.article_id for st in s.stories for a in st.articles} for s in edition.sections
    }
    sport, other = (
        ("Deportes", "Otras noticias") if name == "es" else ("Esportes", "Outras notícias")
    )
    assert list(sections) == ["Transporte", sport, other]
    transport, football, lone = EVENTS[name]
    assert sections == {"Transporte": transport, sport: football, other: lone}


@pytest.mark.parametrize("name", ["es", "pt"])
def test_golden_email_with_translated_chrome(name: str, golden) -> None:  # type: ignore[no-untyped-def]
    edition = build_edition(articles(name), CONFIGS[name], NOW, capped=False)
    renderer = Renderer(None, base_url="https://digest.example.org", postal_address="1 Quay St")
    message = personalise(
        renderer.render(edition),
        Subscriber("ana@mail.example", "Ana"),
        "https://digest.example.org/u/T",
    )
    golden(f"edition.{name}.html", message.html)
    golden(f"edition.{name}.txt", message.text)
    chrome = {
        "es": ["miércoles, 2 de diciembre de 2026", "Hola, Ana:", "También en:", "Darse de baja:"],
        "pt": ["quarta-feira, 2 de dezembro de 2026", "Olá, Ana,", "Também em:", "Ler na web:"],
    }[name]
    assert all(words in message.text for words in chrome)
    assert f'<html lang="{CONFIGS[name].language}"' in message.html
    assert message.subject == f"{CONFIGS[name].title} — {chrome[0]}"
    for english in ("Hello", "Also reported by", "Read on the web", "Unsubscribe", "December"):
        assert english not in message.text and english not in message.html


def test_the_edition_json_keeps_its_language(built: tuple[str, Edition]) -> None:
    _, edition = built
    data = edition_to_dict(edition)
    assert data["language"] == edition.language
    assert edition_from_dict(data).language == edition.language
    del data["language"]  # stored before editions had a language
    assert edition_from_dict(data).language == "en"


def test_articles_in_different_languages_never_share_a_story() -> None:
    spanish = next(a for a in articles("es") if a.id == "es-tren-diario")
    # The same text twice (a copy would always merge), told apart only by the tag.
    copy = Article(id="copy", source="Otro", title=spanish.title, text=spanish.text, language="pt")
    groups = group_articles([spanish, copy], threshold=0.0)
    assert sorted(len(g) for g in groups) == [1, 1]


def test_an_english_edition_keeps_foreign_reports_apart_and_reads_them_in_their_language() -> None:
    english = Article(
        id="en-rail",
        source="The Harbour Times",
        title="Spain approves 2.4 billion euro plan for Valencia commuter trains",
        text="The Spanish government approved a plan of 2,400 million euros on Tuesday to renew "
        "the commuter trains of Valencia, Transport Minister Elena Garcia said. The plan buys "
        "60 new trains and extends two lines to the airport by 2030.",
    )
    config = EditionSettings(
        name="morning",
        title="The Morning Digest",
        sections=(
            SectionSettings(name="Sport", keywords={"en": ("football",), "es": ("fútbol", "liga")}),
        ),
    )
    edition = build_edition([english, *articles("es")], config, NOW, capped=False)
    tellings = [{a.article_id for a in story.articles} for story in edition.stories]
    assert {"en-rail"} in tellings  # not merged into the Spanish story of the same plan
    spanish = next(
        st for st in edition.stories if "es-tren-diario" in {a.article_id for a in st.articles}
    )
    assert "la Sra. Elena García." in spanish.summary  # Spanish abbreviations
    sport = next(s for s in edition.sections if s.name == "Sport")
    assert {a.article_id for st in sport.stories for a in st.articles} == EVENTS["es"][1]
    assert edition.language == "en" and edition.sections[-1].name == "Other"
