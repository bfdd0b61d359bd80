"""The catalogues: every message of the code and templates translated in each packaged
language with the same placeholders; the template up to date; the fall-back chain
(a deployment's catalogue, the packaged one, the tag's shorter forms, English);
catalogues a deployment adds; and bad ones refused before anything is sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from digest.errors import ConfigError
from digest.language.catalogues import PACKAGED, has_catalogue, messages, placeholders
from digest.language.tags import SUPPORTED
from digest.settings.config import load_settings

REPO = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in SUPPORTED if language != "en"]


def extracted() -> dict[str, tuple[str, ...]]:
    """Every message id in the code and templates (as `make messages` finds them):
    singular -> (singular, plural?)."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, tuple[str, ...]] = {}
    for _, _, message, _, _ in extract_from_dir(
        str(REPO), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        ids = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        found[ids[0]] = ids
    return found


def test_messages_are_found_in_code_and_templates() -> None:
    found = extracted()
    for message in ("Unsubscribe", "Top stories", "Hello %(name)s,", "Other", "Sign up"):
        assert message in found
    assert found["and %(num)d more"] == ("and %(num)d more", "and %(num)d more")
    assert len(found) > 80


def test_the_template_is_up_to_date() -> None:
    with (PACKAGED / "digest.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert template == set(extracted()), "run `make messages`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    with (PACKAGED / language / "LC_MESSAGES" / "digest.po").open("rb") as handle:
        catalogue = read_po(handle)
    missing, wrong = [], []
    for singular, ids in extracted().items():
        entry = catalogue.get(ids if len(ids) > 1 else singular)
        strings = () if entry is None else (entry.string,) if len(ids) == 1 else entry.string
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(singular)
            continue
        assert isinstance(strings, tuple)
        if len(ids) > 1:
            assert len(strings) == catalogue.num_plurals, singular
        wrong += [s for s in strings if placeholders(str(s)) != placeholders(singular)]
    assert missing == [], f"{language}: not translated"
    assert wrong == [], f"{language}: placeholders differ"


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_language_writes_its_own_dates(language: str) -> None:
    words = messages(language)
    day = words.long_date(date(2026, 12, 2))
    assert "December" not in day and "Wednesday" not in day and "2026" in day
    assert "2026" in words.date_time(datetime(2026, 12, 9, 15, 0, tzinfo=UTC))
    assert words.gettext("Unsubscribe") != "Unsubscribe"


def test_english_is_the_source_text() -> None:
    words = messages("en")
    assert words.gettext("Top stories") == "Top stories"
    assert words.long_date("2026-11-27") == "Friday, 27 November 2026"  # as before
    assert words.long_date("not-a-date") == "not-a-date"


def test_a_regional_tag_falls_back_to_its_language() -> None:
    assert messages("pt-BR").gettext("Unsubscribe") == messages("pt").gettext("Unsubscribe")
    assert messages("es-MX").long_date("2026-12-02") == "miércoles, 2 de diciembre de 2026"
    assert has_catalogue("pt-BR") and has_catalogue("en-GB") and not has_catalogue("nl")


def po_file(folder: Path, language: str, entries: dict[str, str]) -> Path:
    path = folder / language / "LC_MESSAGES" / "digest.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f'\nmsgid "{k}"\nmsgstr "{v}"\n' for k, v in entries.items())
    header = f'msgid ""\nmsgstr ""\n"Language: {language}\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n'
    path.write_text(header + body, encoding="utf-8")
    return path


def test_a_deployment_adds_a_language_without_touching_code(tmp_path: Path) -> None:
    po_file(tmp_path, "nl", {"Unsubscribe": "Afmelden", "EEEE, dd MMMM y": "full"})
    assert has_catalogue("nl", tmp_path)
    words = messages("nl", tmp_path)
    assert words.gettext("Unsubscribe") == "Afmelden"
    assert words.gettext("Top stories") == "Top stories"  # not translated yet: English
    assert words.long_date("2026-12-02") == "woensdag 2 december 2026"


def test_a_deployment_rewords_a_packaged_language(tmp_path: Path) -> None:
    po_file(tmp_path, "es", {"Top stories": "Portada"})
    words = messages("es", tmp_path)
    assert words.gettext("Top stories") == "Portada"
    assert words.gettext("Unsubscribe") == "Darse de baja"  # the packaged catalogue's


def test_a_translation_with_other_placeholders_is_refused(tmp_path: Path) -> None:
    po_file(tmp_path, "es", {"Hello %(name)s,": "Hola, %(nombre)s:"})
    with pytest.raises(ConfigError, match="placeholders"):
        messages("es", tmp_path)


def test_a_bad_date_pattern_is_refused(tmp_path: Path) -> None:
    po_file(tmp_path, "fr", {"EEEE, dd MMMM y": "dd QQQQQQQ y"})
    with pytest.raises(ConfigError, match="date pattern"):
        messages("fr", tmp_path)


def test_settings_want_a_catalogue_for_every_language(project: Path) -> None:
    text = project.read_text()
    project.write_text(text.replace('name = "morning"\n', 'name = "morning"\nlanguage = "nl"\n', 1))
    with pytest.raises(ConfigError, match="no catalogue for language 'nl'"):
        load_settings(project, {})
    po_file(project.parent.parent / "locales", "nl", {"Unsubscribe": "Afmelden"})
    assert load_settings(project, {}).editions[0].language == "nl"
    project.write_text(text.replace("[web]\n", '[web]\nlanguage = "it"\n'))
    assert load_settings(project, {}).web.language == "it"


def test_settings_refuse_a_tag_that_is_no_language(project: Path) -> None:
    text = project.read_text().replace(
        'name = "morning"\n', 'name = "morning"\nlanguage = "spanish!"\n', 1
    )
    project.write_text(text)
    with pytest.raises(ConfigError, match="not a language tag"):
        load_settings(project, {})
