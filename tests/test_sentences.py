"""Sentence splitting: abbreviations, initials, decimals, quotes, ellipses, paragraphs."""

from __future__ import annotations

import pytest

from digest.language.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones at the embassy on Monday. They talked for an hour.",
            ["Mr. Smith met Dr. Jones at the embassy on Monday.", "They talked for an hour."],
        ),
        (
            "The U.S. Senate passed the bill late on Friday. It now goes to the House.",
            ["The U.S. Senate passed the bill late on Friday.", "It now goes to the House."],
        ),
        (
            "The talks began on Jan. 5 in Geneva. Both delegations attended.",
            ["The talks began on Jan. 5 in Geneva.", "Both delegations attended."],
        ),
        (
            "Mrs. Lund and Prof. Reyes spoke first. Gov. Pike spoke last.",
            ["Mrs. Lund and Prof. Reyes spoke first.", "Gov. Pike spoke last."],
        ),
        (
            "Shares of Acme Inc. fell 4% on the news. Analysts were surprised.",
            ["Shares of Acme Inc. fell 4% on the news.", "Analysts were surprised."],
        ),
        (
            "The meeting ended at 5 p.m. on Friday. Nobody spoke to the press.",
            ["The meeting ended at 5 p.m. on Friday.", "Nobody spoke to the press."],
        ),
        (
            "The champion lost the No. 1 spot on Monday. Asked if he would retire, he said no. "
            "Nos. 3 and 4 both won.",
            [
                "The champion lost the No. 1 spot on Monday.",
                "Asked if he would retire, he said no.",
                "Nos. 3 and 4 both won.",
            ],
        ),
    ],
    ids=["mr-dr", "u.s.", "jan", "mrs-prof-gov", "inc", "p.m.", "no.-before-a-number"],
)
def test_abbreviations_do_not_end_a_sentence(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_initials_do_not_end_a_sentence() -> None:
    text = "The Hobbit was written by J. R. R. Tolkien in Oxford. It sold well from the start."
    assert split_sentences(text) == [
        "The Hobbit was written by J. R. R. Tolkien in Oxford.",
        "It sold well from the start.",
    ]


def test_single_initial_before_surname() -> None:
    text = "The report was signed by A. Smith and B. Jones. It runs to forty pages."
    assert split_sentences(text) == [
        "The report was signed by A. Smith and B. Jones.",
        "It runs to forty pages.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "A coffee now costs $3.50 in the city centre. Prices rose again.",
            ["A coffee now costs $3.50 in the city centre.", "Prices rose again."],
        ),
        (
            "Inflation rose to 2.5% in May. Economists had expected 2.3%.",
            ["Inflation rose to 2.5% in May.", "Economists had expected 2.3%."],
        ),
        (
            "Profits reached $3.5bn last year. Shares rose 1.25 points.",
            ["Profits reached $3.5bn last year.", "Shares rose 1.25 points."],
        ),
    ],
    ids=["price", "percent", "billions"],
)
def test_decimals_do_not_end_a_sentence(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said "No." Then he left the room.', ['He said "No."', "Then he left the room."]),
        ("He said “No.” Then he left the room.", ["He said “No.”", "Then he left the room."]),
        ("She shouted “Go!” Everyone ran.", ["She shouted “Go!”", "Everyone ran."]),
        ("He said 'never.' Then he left.", ["He said 'never.'", "Then he left."]),
        (
            "The vote was close. (It passed by one.) The mayor smiled.",
            ["The vote was close.", "(It passed by one.)", "The mayor smiled."],
        ),
    ],
    ids=["straight-quotes", "curly-quotes", "exclamation", "single-quotes", "brackets"],
)
def test_closing_quotes_stay_with_their_sentence(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_ellipsis_before_a_capital_ends_a_sentence() -> None:
    assert split_sentences("She paused... Then she spoke again. Silence followed…") == [
        "She paused...",
        "Then she spoke again.",
        "Silence followed…",
    ]
    assert split_sentences("Wait… What happened next?") == ["Wait…", "What happened next?"]


def test_ellipsis_before_lower_case_does_not_split() -> None:
    assert split_sentences("He waited... and waited. Nothing came.") == [
        "He waited... and waited.",
        "Nothing came.",
    ]


def test_question_and_exclamation_marks_end_sentences() -> None:
    assert split_sentences("Is it true? Yes! Absolutely.") == ["Is it true?", "Yes!", "Absolutely."]


def test_paragraphs_separated_by_blank_lines_always_split() -> None:
    # No terminal punctuation at the end of the first paragraph: the blank line splits.
    text = "First paragraph without a full stop\n\nSecond paragraph starts. And it goes on."
    assert split_sentences(text) == [
        "First paragraph without a full stop",
        "Second paragraph starts.",
        "And it goes on.",
    ]


def test_blank_line_with_whitespace_is_a_paragraph_break() -> None:
    assert split_sentences("One paragraph here\n   \nAnother one here") == [
        "One paragraph here",
        "Another one here",
    ]


def test_single_newline_is_joined_with_a_space() -> None:
    assert split_sentences("The line wraps\nin the middle. Next one.") == [
        "The line wraps in the middle.",
        "Next one.",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \n \n\t "])
def test_empty_input_gives_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_sentences_are_verbatim_pieces_of_the_text() -> None:
    text = "Dr. Lund said the U.S. plan costs $3.50 per head. Critics disagreed! Why? Nobody knows."
    sentences = split_sentences(text)
    assert len(sentences) == 4
    assert " ".join(sentences) == text


@pytest.mark.parametrize(
    "text",
    [
        "The answer was no. Then he left.",
        "The cat sat. Then it slept.",
        "We sat in the sun. It was warm.",
    ],
    ids=["no", "sat", "sun"],
)
def test_sentence_ending_in_a_word_that_is_also_an_abbreviation(text: str) -> None:
    assert len(split_sentences(text)) == 2


# -- other languages: their abbreviations, capitals and quotes -----------------------


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            "es",
            "Lo anunció la ministra de Transportes, la Sra. García. El plan costará 3,5 millones.",
            [
                "Lo anunció la ministra de Transportes, la Sra. García.",
                "El plan costará 3,5 millones.",
            ],
        ),
        (
            "es",
            "El acuerdo con EE.UU. se firmó ayer. ¿Qué pasará ahora? «Nada», dijo. Él sonrió.",
            [
                "El acuerdo con EE.UU. se firmó ayer.",
                "¿Qué pasará ahora?",
                "«Nada», dijo.",
                "Él sonrió.",
            ],
        ),
        (
            "pt",
            "O Sr. Silva e a Dra. Costa chegaram às 10h. Às 11h começou a reunião.",
            ["O Sr. Silva e a Dra. Costa chegaram às 10h.", "Às 11h começou a reunião."],
        ),
        (
            "fr",
            "Il a dit : « C'est fini. » Puis il est parti. « Bonjour », a dit M. Martin.",
            ["Il a dit : « C'est fini. »", "Puis il est parti.", "« Bonjour », a dit M. Martin."],
        ),
        (
            "de",
            "Er kam z.B. am Montag. „Wir kommen.“ Über Nacht fiel Schnee. »Gut.« Dann ging er.",
            [
                "Er kam z.B. am Montag.",
                "„Wir kommen.“",
                "Über Nacht fiel Schnee.",
                "»Gut.«",
                "Dann ging er.",
            ],
        ),
        (
            "it",
            "Il Sig. Rossi è arrivato con il dott. Bianchi. È stato un successo.",
            ["Il Sig. Rossi è arrivato con il dott. Bianchi.", "È stato un successo."],
        ),
    ],
    ids=["es-sra", "es-eeuu-quotes", "pt-sr-as", "fr-guillemets", "de-quotes", "it-sig"],
)
def test_other_languages(language: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


def test_english_rules_do_not_know_spanish_titles() -> None:
    # Why each language needs its own: read as English, "Sra." ends the sentence.
    text = "Lo anunció la ministra, la Sra. García. El plan costará 3,5 millones."
    assert len(split_sentences(text)) == 3
    assert len(split_sentences(text, "es")) == 2


def test_a_language_without_rules_splits_at_latin_capitals() -> None:
    assert split_sentences("Dat is goed. Één ding nog. Over en uit.", "nl") == [
        "Dat is goed.",
        "Één ding nog.",
        "Over en uit.",
    ]
