"""Stop words per language, from maintained lists rather than typed by hand.

English keeps scikit-learn's list (``ENGLISH_STOP_WORDS``), which every stage used
before languages were told apart, so English results stay exactly as they were.
Other languages take the lists of the ``stop-words`` package (BSD; Spanish,
Portuguese, French, German, Italian and some thirty more); a language it does not
know has none, and its words all count.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from stop_words import LANGUAGE_MAPPING, get_stop_words

from digest.language.tags import ENGLISH

# What scikit-learn's vectorisers count as a word: a stop word must be one to matter.
_VECTOR_TOKEN = re.compile(r"(?u)\w\w+")


@lru_cache(maxsize=64)
def stop_words(language: str) -> frozenset[str]:
    """The stop words of a primary language tag ("es"), lower-case, NFC."""
    if language == ENGLISH:
        return frozenset(ENGLISH_STOP_WORDS)
    if language not in LANGUAGE_MAPPING:
        return frozenset()
    return frozenset(
        unicodedata.normalize("NFC", word.strip().lower())
        for word in get_stop_words(language)
        if word.strip()
    )


@lru_cache(maxsize=64)
def vector_stop_words(languages: frozenset[str]) -> str | list[str] | None:
    """The ``stop_words`` argument of a scikit-learn vectoriser for text in
    ``languages``: "english" for English alone (as before), else the union of the
    lists, keeping only entries the vectoriser reads as one word."""
    if languages == frozenset({ENGLISH}):
        return "english"
    words = {
        word
        for language in languages
        for word in stop_words(language)
        if _VECTOR_TOKEN.fullmatch(word)
    }
    return sorted(words) or None
