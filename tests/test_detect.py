"""The language of untagged articles: the function-word look, py3langid for the rest,
no answer for short or unsure text; cleaning and `build --articles` tag the
articles that come without a language and keep the tags that come with one."""

from __future__ import annotations

import pytest

from digest.cleaning.articles import clean
from digest.language.detect import by_function_words, detect_language
from digest.language.tags import article_language, fallbacks, primary
from digest.models import Article, RawDocument
from digest.sources.jsonl import article_from_record

TEXTS = {
    "en": "The harbour board met on Tuesday evening and agreed, after a long debate about the "
    "cost of the work, to rebuild the north quay before the winter storms arrive.",
    "es": "El Gobierno aprobó ayer el nuevo plan de transporte para la región, que incluye la "
    "construcción de dos líneas de tren y la renovación de la flota de autobuses.",
    "pt": "O governo aprovou ontem o novo plano de transportes para a região, que inclui a "
    "construção de duas linhas de trem e a renovação da frota de ônibus.",
    "fr": "Le gouvernement a approuvé hier le nouveau plan de transport pour la région, qui "
    "comprend la construction de deux lignes de train et le renouvellement des bus.",
    "de": "Die Regierung hat gestern den neuen Verkehrsplan für die Region gebilligt, der den "
    "Bau von zwei Bahnlinien und die Erneuerung der Busflotte umfasst.",
    "it": "Il governo ha approvato ieri il nuovo piano dei trasporti per la regione, che "
    "prevede la costruzione di due linee ferroviarie e il rinnovo della flotta di autobus.",
}


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_each_supported_language_is_told(language: str) -> None:
    assert detect_language(TEXTS[language]) == language


def test_clear_english_needs_no_model() -> None:
    # The function words settle it: collection of English feeds loads no model.
    assert by_function_words(TEXTS["en"]) == "en"
    assert by_function_words(TEXTS["es"]) == "es"


def test_a_language_without_rules_keeps_its_own_tag() -> None:
    catalan = (
        "El Govern va aprovar ahir el nou pla de transport per a la regió, que inclou la "
        "construcció de dues línies de tren i la renovació de la flota d'autobusos."
    )
    assert by_function_words(catalan) is None  # unsure: the model decides
    assert detect_language(catalan) == "ca"


@pytest.mark.parametrize("text", ["", "Breaking news", "Goal! 2-1", "Real Madrid v Milan"])
def test_short_text_gets_no_answer(text: str) -> None:
    assert detect_language(text) is None


def test_cleaning_tags_an_article_without_a_language() -> None:
    spanish = RawDocument(
        source="Diario", url="https://diario.example/1", title="Plan de trenes", text=TEXTS["es"]
    )
    assert clean(spanish).language == "es"
    tagged = RawDocument(
        source="Jornal",
        url="https://jornal.example/1",
        fragment=f"<p>{TEXTS['es']}</p>",
        title="Plano",
        language="pt-BR",  # the feed's word wins
    )
    assert clean(tagged).language == "pt-BR"
    headline = RawDocument(source="Feed", url="https://feed.example/2", title="Tren")
    assert clean(headline).language is None  # read in the edition's language


def test_build_articles_detects_rows_without_a_language() -> None:
    row = {"id": "1", "title": "Plano de trens", "text": TEXTS["pt"]}
    assert article_from_record(row).language == "pt"
    assert article_from_record({**row, "language": "pt-PT"}).language == "pt-PT"
    assert article_from_record({**row, "language": "not a tag!"}).language == "pt"


def test_tags() -> None:
    assert primary("pt-BR") == "pt" and primary("EN_us") == "en" and primary(None) is None
    assert primary("123") is None
    assert fallbacks("zh-Hant-TW") == ["zh-Hant-TW", "zh-Hant", "zh"]
    article = Article(id="a", source="s", title="t", text="", language="es-MX")
    assert article_language(article, "en") == "es"
    assert article_language(Article(id="b", source="s", title="t", text=""), "pt-BR") == "pt"
