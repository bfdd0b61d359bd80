"""Headlines: each story is headed by its most informative member headline, cleaned
of the outlet's name and of tags such as "| Live updates" or "WATCH:".

Informative means: says who and what (content words, names, numbers), is a
statement rather than a question or a teaser. The lead article's headline wins
ties, since the lead is the story's most central telling.

Headline and summary tell one report: once the summary is written, the headline
is the most informative of the reports its sentences come from, and one whose
figures the summary or those reports bear out ("212,000 migrants" over a summary
that says "about 200,000 arrests" is another week's report).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from digest.language.profiles import Profile, profile
from digest.language.tags import ENGLISH, article_language
from digest.models import Article

# Tags ("LIVE:", "| Live updates"), teasers and the words of a headline are the
# language's (``digest.language.profiles``); the separators are everyone's.
_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def clean_headline(title: str, source: str | None = None, language: str = ENGLISH) -> str:
    """The headline without the site's name and without live/video/opinion tags."""
    rules = profile(language)
    text = " ".join(title.split())
    for _ in range(3):  # "Foo | Live updates | Site" needs more than one pass
        before = text
        text = rules.tag_prefix.sub("", text)
        text = rules.tag_suffix.sub("", text)
        text = _strip_site(text, source, rules)
        if text == before:
            break
    return text.strip(" |–—-:") or " ".join(title.split())


def _strip_site(text: str, source: str | None, rules: Profile) -> str:
    for separator in _SEPARATORS:
        head, sep, tail = text.rpartition(separator)
        if not sep or len(head.split()) < 3:
            continue
        if _looks_like_site(tail, source, rules):
            return head
    return text


def _looks_like_site(tail: str, source: str | None, rules: Profile) -> bool:
    tail = tail.strip()
    if source and _squash(source) and _squash(source) in _squash(tail):
        return True
    words = tail.split()
    if not words or len(words) > 4:
        return False
    if re.search(r"\.(com|org|net|co\.uk|news|example)\b", tail, re.IGNORECASE):
        return True
    # "BBC News", "The Harbour Times": short, every word capitalised, no verb-like ending.
    return all(w[:1].isupper() or w.lower() in rules.site_words for w in words) and not (
        tail.endswith(("?", "!", "."))
    )


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def informativeness(headline: str, language: str = ENGLISH) -> float:
    """Content words, names and numbers count; questions, teasers and shouting cost."""
    rules = profile(language)
    words = rules.headline_words.findall(headline)
    content = [w for w in words if w.lower() not in rules.stop_words]
    score = min(len(content), 12) * 1.0
    score += 0.5 * sum(1 for w in words[1:] if w[:1].isupper())
    score += 0.5 * sum(1 for w in words if any(ch.isdigit() for ch in w))
    if headline.rstrip().endswith("?"):
        score -= 3.0
    if rules.teaser.search(headline):
        score -= 4.0
    letters = [ch for ch in headline if ch.isalpha()]
    if letters and sum(ch.isupper() for ch in letters) / len(letters) > 0.6:
        score -= 3.0
    if len(words) > 20:  # a sentence pasted as a title, not a headline
        score -= (len(words) - 20) * 0.5
    return score


LEAD_BONUS = 1.0


def choose_headline(members: Sequence[Article], language: str = ENGLISH, summary: str = "") -> str:
    """The most informative cleaned member headline (lead first on ties), read in the
    members' language (their own tag, else ``language``); with a ``summary``, among
    the reports it comes from whose figures it bears out (see the module docstring)."""
    return headed(members, language, summary)[1]


def headed(
    members: Sequence[Article], language: str = ENGLISH, summary: str = ""
) -> tuple[int, str]:
    """The index of the member whose headline heads the story, and that headline
    (``choose_headline``'s choice, with the report it comes from)."""
    if not members:
        return 0, ""
    language = article_language(members[0], language)
    index = headline_article(members, language, summary)
    lead = members[index]
    return index, clean_headline(lead.title, lead.source, language) or members[0].title


def headline_article(members: Sequence[Article], language: str = ENGLISH, summary: str = "") -> int:
    """Which member's headline heads the story: before the summary is written, the
    most informative (the summary starts from its facts); after, the most informative
    that agrees with the summary."""
    best, best_score = 0, float("-inf")
    for index in _agreeing(members, summary):
        article = members[index]
        headline = clean_headline(article.title, article.source, language)
        if not headline:
            continue
        score = informativeness(headline, language) + (LEAD_BONUS if index == 0 else 0.0)
        if score > best_score:
            best, best_score = index, score
    return best


def _agreeing(members: Sequence[Article], summary: str) -> list[int]:
    """The members whose headline may head ``summary``: the reports it was taken
    from, those of them whose headline figures it or they bear out first; every
    member when none qualifies (no summary, or one not taken from the reports)."""
    everyone = list(range(len(members)))
    sentences = [s for s in _flat(summary).split(". ") if len(s) > 20]
    texts = [_flat(a.text) for a in members]
    used = [i for i in everyone if any(s in texts[i] for s in sentences)]
    if not used:
        return everyone
    known = {
        n.replace(",", "") for n in _NUMBER.findall(" ".join([summary, *(texts[i] for i in used)]))
    }
    agreeing = [
        i
        for i in used
        if all(n.replace(",", "") in known for n in _NUMBER.findall(members[i].title))
    ]
    return agreeing or used


def _flat(text: str) -> str:
    return " ".join(text.split())
