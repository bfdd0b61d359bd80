"""The language of an article without a tag, offline.

Two looks, the cheap one first:

1. Function words. Each supported language has stop words no other supported
   language has ("the", "und", "não", "della"); in the first ``SAMPLE_WORDS`` words
   of a news text one language's make up a good share, and the others' almost none.
   When that is so the answer is certain and costs microseconds, which keeps
   collection as fast as before for the usual case.
2. Otherwise py3langid (a naive Bayes model over byte n-grams, shipped in its
   wheel: no download), loaded once per process on first use (about two seconds),
   over the first ``MODEL_CHARS`` characters, with all its 97 languages, so text in
   a language without rules of its own keeps its own tag (and never merges with
   another language's stories). Below ``MIN_CONFIDENCE`` there is no answer.

Text under ``MIN_CHARS`` characters gets no answer either; an article without a
language is read in its edition's language.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from digest.language.stopwords import stop_words
from digest.language.tags import SUPPORTED

MIN_CHARS = 40
MIN_CONFIDENCE = 0.9
MODEL_CHARS = 600  # enough for a sure answer; the model's time grows with the text
SAMPLE_WORDS = 80
# The function-word look decides when its language's words are this share of the
# sample (news prose is 20-40% such words) and every other language has at most
# ``RIVAL_SHARE`` of that many.
MIN_SHARE = 0.12
MIN_HITS = 4
RIVAL_SHARE = 0.2
_PUNCTUATION = ".,;:!?\"'()[]«»“”‘’„¿¡…-–—"


def detect_language(text: str) -> str | None:
    """The primary language tag of ``text`` ("es"), or None when it is too short or
    the answer is not sure."""
    if len(text.strip()) < MIN_CHARS:
        return None
    found = by_function_words(text)
    if found is not None:
        return found
    language, confidence = _identifier().classify(text[:MODEL_CHARS])
    return str(language) if confidence >= MIN_CONFIDENCE else None


def by_function_words(text: str) -> str | None:
    """The supported language whose own function words clearly dominate the start of
    ``text``; None when none does."""
    # str.split is several times faster than a Unicode word pattern, and the start of
    # the text is all it needs.
    words = [w.strip(_PUNCTUATION) for w in text[: SAMPLE_WORDS * 12].lower().split()]
    words = words[:SAMPLE_WORDS]
    if not words:
        return None
    hits = {language: 0 for language in SUPPORTED}
    own = _distinctive()
    for word in words:
        language = own.get(word)
        if language is not None:
            hits[language] += 1
    best = max(hits, key=lambda language: hits[language])
    count = hits[best]
    if count < MIN_HITS or count < MIN_SHARE * len(words):
        return None
    if any(n > RIVAL_SHARE * count for language, n in hits.items() if language != best):
        return None
    return best


@cache
def _distinctive() -> dict[str, str]:
    """Stop word -> the one supported language that has it (shared ones left out)."""
    owners: dict[str, set[str]] = {}
    for language in SUPPORTED:
        for word in stop_words(language):
            owners.setdefault(word, set()).add(language)
    return {word: next(iter(langs)) for word, langs in owners.items() if len(langs) == 1}


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
