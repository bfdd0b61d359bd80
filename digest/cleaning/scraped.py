"""Scraped plain text, which is noisy: repeated titles, "follow us" and share lines,
PREV/NEXT teasers, cookie notices. The body is the densest run of prose lines."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from digest.cleaning.text import Extracted, is_boilerplate, norm, one_line

_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]」』]*$")
# A trailing agency credit after the last sentence: "... their lifting. EFE", "(Reuters)".
_CREDIT = re.compile(r"(?<=[.!?\"”’])\s+(\(?[A-Z][A-Za-z&]*(?:[ /-][A-Z][A-Za-z&]*){0,2}\)?)\s*$")
# A dateline naming the agency: "CALDMOOR (Civic Wire) - ", "LONDON, Nov 25 (Reuters) -".
_DATELINE_CREDIT = re.compile(
    r"^[A-Z][A-Z .'-]{2,40}(?:,[^()]{1,20})?\s*"
    r"\(([A-Z][A-Za-z&]*(?: [A-Z][A-Za-z&]*){0,3})\)\s*[-–—]"
)


def clean_scraped_text(text: str, title: str | None = None, url: str | None = None) -> Extracted:
    """Title once, body paragraphs without navigation, share lines or teasers.

    The body is the densest run of prose lines (a maximum-sum run where prose
    lines score by their length and short lines cost), so menus before and
    teasers after the article fall away even when no pattern names them. A prose
    line is a sentence of six words or more, or a line of twenty words or more
    that is not in Title Case; it counts fully between prose lines, three
    quarters beside one and half when neither neighbour is prose, as a teaser's
    summary between its headline and byline is.
    """
    lines = [one_line(line) for line in text.replace("\r\n", "\n").split("\n")]
    non_empty = [line for line in lines if line]
    if not non_empty:
        return Extracted(title=title or "", text="")
    title = one_line(title or "") or non_empty[0]
    title_key = norm(title)

    # Share lines and section headers stay in the run as costs and barriers (a
    # "Related articles" header marks where teasers begin); they leave the body after.
    candidates = [line for line in non_empty if norm(line) != title_key]
    boilerplate = [is_boilerplate(line) for line in candidates]
    start, end = _densest_run(candidates, boilerplate, _slug_words(url))
    body = [
        line
        for line, junk in zip(candidates[start:end], boilerplate[start:end], strict=True)
        if not junk
    ]
    credit = None
    if body:
        match = _CREDIT.search(body[-1])
        if match and len(match.group(1)) <= 24:
            credit = match.group(1).strip("()")
            body[-1] = body[-1][: match.start()].rstrip()
        # The dateline names the agency in full where a closing credit may abbreviate it.
        dateline = _DATELINE_CREDIT.match(body[0])
        credit = dateline.group(1) if dateline else credit
    return Extracted(title=title, text="\n\n".join(body), credit=credit)


def _densest_run(
    lines: list[str], boilerplate: list[bool], hints: frozenset[str]
) -> tuple[int, int]:
    """Start and end of the maximum-sum run of line scores."""
    counts = Counter(norm(line) for line in lines)
    scores = [
        -SHORT_COST - _size(line)
        if junk and not _BARRIER.match(line)
        else _line_score(line, counts, hints)
        for line, junk in zip(lines, boilerplate, strict=True)
    ]
    smoothed = [
        # A prose line counts fully among prose lines; an isolated one (a teaser's
        # summary between its headline and its byline) counts half.
        score * (ISOLATED_SHARE + (1 - ISOLATED_SHARE) * _prose_neighbours(scores, i))
        if score > 0
        else score
        for i, score in enumerate(scores)
    ]
    best, best_span = 0.0, (0, 0)
    running, start = 0.0, 0
    for i, score in enumerate(smoothed):
        if running <= 0:
            running, start = 0.0, i
        running += score
        if running > best:
            best, best_span = running, (start, i + 1)
    return best_span


def _line_score(line: str, counts: Counter[str], hints: frozenset[str]) -> float:
    if _BARRIER.match(line):
        # A section header such as "Related" or "Comments" ends the article.
        return -BARRIER_COST
    if counts[norm(line)] > 1 and _size(line) < 20:
        # A line the page repeats is template (share bars, bylines of teasers).
        return -REPEAT_COST
    score = _prose_score(line)
    return score * 1.5 if score > 0 and _mentions(line, hints) else score


def _prose_neighbours(scores: list[float], i: int) -> float:
    """Share of the lines either side of line ``i`` that are prose."""
    near = scores[max(0, i - 1) : i] + scores[i + 1 : i + 2]
    return sum(score > 0 for score in near) / len(near) if near else 1.0


SHORT_COST = 4.0
REPEAT_COST = 12.0
BARRIER_COST = 40.0
# A line that does not end like a sentence is prose only from this many words on
# and when it is not in Title Case: shorter ones are teasers' headlines, menus and
# captions. What an isolated prose line counts for, against one among prose lines.
# Both measured on the extract-noisy dev set of ../shared/eval (F1 0.915 as set;
# 12 words 0.910, 16 0.912, 25 0.912, 30 0.910; isolated lines counted fully 0.894,
# a quarter 0.905, three quarters 0.902; without the Title Case test 0.912).
PROSE_MIN_WORDS = 20
ISOLATED_SHARE = 0.5
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_BARRIER = re.compile(
    r"^\W*(related( (articles|stories|posts|news))?|more (stories|news|from)"
    r"|you (may|might) (also )?like|recommended( for you)?|most (read|popular|viewed)"
    r"|comments?|leave a (reply|comment)"
    r"|read (more|next|also)|see also|trending|popular|latest( news)?|tags?|share this"
    r"|lea también|más noticias|leia também|você pode gostar|articles? liés|à lire aussi"
    r"|weitere artikel|mehr zum thema|関連記事|相关文章|推荐阅读)\W*$",
    re.IGNORECASE,
)


def _slug_words(url: str | None) -> frozenset[str]:
    """Words of the URL's last path segment: most article URLs carry the headline."""
    if not url:
        return frozenset()
    slug = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = {w for w in re.split(r"[-_+]", slug.lower()) if len(w) > 3 and not w.isdigit()}
    return frozenset(words) if len(words) >= 2 else frozenset()


def _mentions(line: str, hints: frozenset[str]) -> bool:
    return bool(hints) and len(hints & set(norm(line).split())) >= 2


def _size(line: str) -> float:
    """Words, counting two CJK characters as one (those scripts put no spaces)."""
    cjk = len(_CJK.findall(line))
    return len(_CJK.sub(" ", line).split()) + cjk / 2


def _prose_score(line: str) -> float:
    size = _size(line)
    if _SENTENCE_END.search(line) or _CREDIT.search(line):  # "... their lifting. EFE"
        prose = size >= 6
    else:
        prose = size >= PROSE_MIN_WORDS and not _title_case(line)
    return size if prose else -SHORT_COST - size


_CAPITALISED = re.compile(r"\b[^\W\d_]")


def _title_case(line: str) -> bool:
    """Most words capitalised: a run of headlines or a menu, not a sentence."""
    initials = [m.group() for m in _CAPITALISED.finditer(_CJK.sub(" ", line))]
    return len(initials) >= 3 and sum(ch.isupper() for ch in initials) > len(initials) / 2
