"""Headlines: each story is headed by its most informative member headline, cleaned
of the outlet's name and of tags such as "| Live updates" or "WATCH:".

Informative means: says who and what (content words, names, numbers), is a
statement rather than a question or a teaser. The lead article's headline wins
ties, since the lead is the story's most central telling.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from digest.models import Article

_TAG_PREFIX = re.compile(
    r"^\s*(?:(?:live|watch|video|breaking|exclusive|opinion|analysis|update[ds]?|listen|photos?)"
    r"\s*[:|–—-]\s*)+",
    re.IGNORECASE,
)
_TAG_SUFFIX = re.compile(
    r"\s*[|–—:-]\s*(?:live(?: updates?| blog| coverage)?|as it happened|latest(?: news| updates)?"
    r"|video|photos|opinion|analysis|explained|podcast)\s*$",
    re.IGNORECASE,
)
_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ")
_TEASER = re.compile(
    r"\b(you won'?t believe|here'?s (?:why|what|how)|what (?:we|you) (?:know|need to know)"
    r"|this is why|everything you need|things to know|find out|revealed)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*")


def clean_headline(title: str, source: str | None = None) -> str:
    """The headline without the site's name and without live/video/opinion tags."""
    text = " ".join(title.split())
    for _ in range(3):  # "Foo | Live updates | Site" needs more than one pass
        before = text
        text = _TAG_PREFIX.sub("", text)
        text = _TAG_SUFFIX.sub("", text)
        text = _strip_site(text, source)
        if text == before:
            break
    return text.strip(" |–—-:") or " ".join(title.split())


def _strip_site(text: str, source: str | None) -> str:
    for separator in _SEPARATORS:
        head, sep, tail = text.rpartition(separator)
        if not sep or len(head.split()) < 3:
            continue
        if _looks_like_site(tail, source):
            return head
    return text


def _looks_like_site(tail: str, source: str | None) -> bool:
    tail = tail.strip()
    if source and _squash(source) and _squash(source) in _squash(tail):
        return True
    words = tail.split()
    if not words or len(words) > 4:
        return False
    if re.search(r"\.(com|org|net|co\.uk|news|example)\b", tail, re.IGNORECASE):
        return True
    # "BBC News", "The Harbour Times": short, every word capitalised, no verb-like ending.
    return all(w[:1].isupper() or w.lower() in {"the", "of", "and", "&"} for w in words) and not (
        tail.endswith(("?", "!", "."))
    )


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def informativeness(headline: str) -> float:
    """Content words, names and numbers count; questions, teasers and shouting cost."""
    words = _WORD.findall(headline)
    content = [w for w in words if w.lower() not in ENGLISH_STOP_WORDS]
    score = min(len(content), 12) * 1.0
    score += 0.5 * sum(1 for w in words[1:] if w[:1].isupper())
    score += 0.5 * sum(1 for w in words if any(ch.isdigit() for ch in w))
    if headline.rstrip().endswith("?"):
        score -= 3.0
    if _TEASER.search(headline):
        score -= 4.0
    letters = [ch for ch in headline if ch.isalpha()]
    if letters and sum(ch.isupper() for ch in letters) / len(letters) > 0.6:
        score -= 3.0
    if len(words) > 20:  # a sentence pasted as a title, not a headline
        score -= (len(words) - 20) * 0.5
    return score


LEAD_BONUS = 1.0


def choose_headline(members: Sequence[Article]) -> str:
    """The most informative cleaned member headline (lead first on ties)."""
    if not members:
        return ""
    index = headline_article(members)
    return clean_headline(members[index].title, members[index].source) or members[0].title


def headline_article(members: Sequence[Article]) -> int:
    """Which member's headline heads the story: the summary starts from its facts, so
    headline and summary tell the same report."""
    best, best_score = 0, float("-inf")
    for index, article in enumerate(members):
        headline = clean_headline(article.title, article.source)
        if not headline:
            continue
        score = informativeness(headline) + (LEAD_BONUS if index == 0 else 0.0)
        if score > best_score:
            best, best_score = index, score
    return best
