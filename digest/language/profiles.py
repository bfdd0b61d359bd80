"""Text rules per language: one frozen :class:`Profile` per primary language tag,
built once and shared by sentence splitting, summaries, headlines, updates and
sections.

English keeps the rules the stages had before languages were told apart (ASCII
words, its own patterns), so English results do not change. Every other language
reads words of any script (``[^\\W_]+``), capitals of the Latin alphabets (``É``,
``Ö``), the quotes « » „ “ and the openers ¿ ¡, with its lexicon
(``digest.language.lexicon``) plus the English boilerplate, which pages in any
language carry. A language without a lexicon gets those generic rules, its stop
words when ``stop-words`` has a list for it, and no abbreviations of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from babel.core import Locale, UnknownLocaleError

from digest.language.lexicon import ENGLISH as ENGLISH_WORDS
from digest.language.lexicon import LEXICONS, Lexicon
from digest.language.stopwords import stop_words
from digest.language.tags import ENGLISH

UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
LOWER = "a-zß-öø-ÿ"


@dataclass(frozen=True, slots=True)
class Profile:
    """How text in one language is read."""

    language: str
    stop_words: frozenset[str]
    abbreviations: frozenset[str]
    numbered: frozenset[str]  # abbreviations before a number only: "no" in "No. 1"
    leaning: frozenset[str]  # openers that point back at an unseen sentence
    counts: frozenset[str]  # number words: "Two voted ..." leans back, "Two men" does not
    not_labels: frozenset[str]  # never a section label
    site_words: frozenset[str]  # small words of outlets' names
    words: re.Pattern[str]  # the words of lower-cased text (summaries)
    terms: re.Pattern[str]  # the words of lower-cased text (section keywords)
    headline_words: re.Pattern[str]  # the words of a headline as written
    label_word: re.Pattern[str]  # a word that may name an automatic section
    boundary: re.Pattern[str]  # where a sentence may end: punctuation, closers, space
    initials: re.Pattern[str]  # "j", "u.s" (lower-cased): a dot there ends nothing
    opening: str  # characters a sentence may open with before its first letter
    starts: re.Pattern[str]  # how a whole sentence starts
    ends: re.Pattern[str]  # how it ends
    quotes: tuple[tuple[str, str], ...]  # pairs that must balance in a whole sentence
    full_name: re.Pattern[str]  # "Anna " before "Thalberg" (captured)
    reported: re.Pattern[str]  # "Thalberg said"
    byline: re.Pattern[str]
    junk: re.Pattern[str]
    tag_prefix: re.Pattern[str]
    tag_suffix: re.Pattern[str]
    teaser: re.Pattern[str]
    fold: Callable[[str], str]  # a crude singular: "films" -> "film"

    @property
    def english(self) -> bool:
        return self.language == ENGLISH


def fold_english(word: str) -> str:
    """A plural's singular, crudely: enough for keyword matching ("films" = "film")."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def fold_romance(word: str) -> str:
    """Spanish, Portuguese, French, Italian: a final "s", then a final vowel, go, so
    that singular and plural meet ("ciudades", "ciudad"; "partite", "partita")."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and word[-1] in "aeiou":
        word = word[:-1]
    return word


def fold_german(word: str) -> str:
    """German plurals and cases, crudely: a final "en", "er", "e", "n" or "s" goes."""
    if len(word) > 5 and word.endswith(("en", "er")):
        return word[:-2]
    if len(word) > 4 and word[-1] in "ens":
        return word[:-1]
    return word


def fold_none(word: str) -> str:
    return word


_FOLDS: dict[str, Callable[[str], str]] = {
    "en": fold_english,
    "es": fold_romance,
    "pt": fold_romance,
    "fr": fold_romance,
    "it": fold_romance,
    "de": fold_german,
}


@lru_cache(maxsize=64)
def profile(language: str) -> Profile:
    """The rules for a primary language tag ("es"); generic ones when it has no lexicon."""
    if language == ENGLISH:
        return _english()
    return _other(language, LEXICONS.get(language))


def _english() -> Profile:
    words = ENGLISH_WORDS
    return Profile(
        language=ENGLISH,
        stop_words=stop_words(ENGLISH),
        abbreviations=words.abbreviations,
        numbered=words.numbered,
        leaning=words.leaning,
        counts=words.counts,
        not_labels=words.not_labels,
        site_words=words.site_words,
        words=re.compile(r"[a-z0-9]+(?:'[a-z]+)?"),
        terms=re.compile(r"[a-z0-9]+"),
        headline_words=re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*"),
        label_word=re.compile(r"^[a-z][a-z'-]{2,}$"),
        boundary=re.compile(r"""([.!?…]+)(["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9])"""),
        initials=re.compile(r"[a-z]|([a-z]\.)+[a-z]"),
        opening="\"'“‘([",
        starts=re.compile(r"""^["'“‘(]?[A-Z0-9]"""),
        ends=re.compile(r"""[.!?]["'”’)]*$"""),
        quotes=(("“", "”"),),
        full_name=re.compile(r"\b[A-Z][a-z]+ (?=([A-Z][a-z'’-]+)\b)"),
        reported=re.compile(rf"^([A-Z][a-z'’-]+)\s+(?:{words.reporting})\b"),
        byline=re.compile(r"^By (?:[A-Z][a-zA-Z.'-]+ ){1,3}(?:and |[,|]|[A-Z][a-zA-Z.'-]+\b)"),
        junk=_junk(words.junk),
        tag_prefix=_tag_prefix(words.tag_prefix),
        tag_suffix=_tag_suffix(words.tag_suffix),
        teaser=re.compile(rf"\b({words.teaser})\b", re.IGNORECASE),
        fold=fold_english,
    )


def _other(language: str, lexicon: Lexicon | None) -> Profile:
    own = lexicon or Lexicon(
        frozenset(), frozenset(), "", "", "", "", "", "", "", frozenset(), frozenset()
    )
    english = ENGLISH_WORDS
    name = rf"[{UPPER}][\w.'’-]+"
    byline = own.byline or "By"
    conjunction = own.conjunction or "and"
    # German quotes „so“ and »so«; the others “so” and «so» (French with spaces inside).
    openers, closers = ("„‚»", "“‘«") if language == "de" else ("“‘«", "”’»")
    openers += "\"'(\\[¿¡"
    closers += "\"')\\]"
    return Profile(
        language=language,
        stop_words=stop_words(language),
        abbreviations=own.abbreviations,
        numbered=own.numbered,
        leaning=own.leaning,
        counts=own.counts,
        not_labels=own.not_labels | _calendar(language),
        site_words=english.site_words | own.site_words,
        words=re.compile(r"[^\W_]+"),
        terms=re.compile(r"[^\W_]+"),
        headline_words=re.compile(r"[^\W_][\w'’.-]*"),
        label_word=re.compile(r"^[^\W\d_](?:[^\W\d_]|['’-]){2,}$"),
        boundary=re.compile(
            rf"([.!?…]+)((?:\s?[{closers}])*)\s+(?=[{openers}—–-]?\s?[{UPPER}0-9])"
        ),
        initials=re.compile(r"[^\W\d_]|([^\W\d_]\.)+[^\W\d_]"),
        opening=openers.replace("\\", ""),
        starts=re.compile(rf"^[{openers}]?\s?[{UPPER}0-9]"),
        ends=re.compile(rf"[.!?…](?:\s?[{closers}])*$"),
        quotes=(("„", "“"), ("»", "«")) if language == "de" else (("«", "»"), ("“", "”")),
        full_name=re.compile(rf"\b[{UPPER}][{LOWER}]+ (?=([{UPPER}][{LOWER}'’-]+)\b)"),
        reported=re.compile(
            rf"^([{UPPER}][{LOWER}'’-]+)\s+(?:{_either(own.reporting, english.reporting)})\b"
        ),
        byline=re.compile(rf"^{byline} (?:{name} ){{1,3}}(?:{conjunction} |[,|]|{name}\b)"),
        junk=_junk(_either(own.junk, english.junk)),
        tag_prefix=_tag_prefix(_either(own.tag_prefix, english.tag_prefix)),
        tag_suffix=_tag_suffix(_either(own.tag_suffix, english.tag_suffix)),
        teaser=re.compile(rf"\b({_either(own.teaser, english.teaser)})\b", re.IGNORECASE),
        fold=_FOLDS.get(language, fold_none),
    )


def _either(*alternatives: str) -> str:
    return "|".join(a for a in alternatives if a)


def _junk(alternatives: str) -> re.Pattern[str]:
    """Boilerplate phrases as whole words: "subscribe" is a call to action,
    "subscribers" is news (a service's subscribers grew)."""
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _tag_prefix(words: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:(?:{words})\s*[:|–—-]\s*)+", re.IGNORECASE)


def _tag_suffix(words: str) -> re.Pattern[str]:
    return re.compile(rf"\s*[|–—:-]\s*(?:{words})\s*$", re.IGNORECASE)


def _calendar(language: str) -> frozenset[str]:
    """Month and weekday names (CLDR, through Babel), lower-case: never a subject."""
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return frozenset()
    names = [*locale.months["format"]["wide"].values(), *locale.days["format"]["wide"].values()]
    return frozenset(str(name).lower() for name in names)
