"""An optional summariser on any OpenAI-compatible chat-completions endpoint.

Never the default, never trusted blindly: each answer is checked (length, and
every URL and number in it must appear in the sources) and on any failure, a
timeout, an error, or an exhausted token budget, the story keeps its extractive
summary and the run report says why. Answers are cached by a hash of the model,
the prompt and the sources, so a rebuild costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from babel.core import Locale, UnknownLocaleError

from digest.models import Article

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You write the summary of one news story for an email digest. Use only facts stated "
    "in the articles. Say who did what, when and where, in plain sentences. No opinions, "
    "no headline, no bullet points, no links. At most {words} words."
)
# Added for stories in another language than English (the English prompt, and so its
# cached answers, stay as they were).
LANGUAGE_PROMPT = " Write in {language}, the language of the articles."
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
SOURCE_CHARS = 3000  # of each article in the prompt: the news is at the top


class SummaryCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, summary: str) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def put(self, key: str, summary: str) -> None:
        self.entries[key] = summary


@dataclass
class LLMSummariser:
    """Summarises stories through ``client`` (an ``httpx.Client``), within a budget."""

    client: httpx.Client
    url: str
    model: str
    api_key: str | None
    cache: SummaryCache
    max_tokens_per_edition: int = 50_000
    max_answer_tokens: int = 200
    timeout_seconds: float = 20.0
    tokens_used: int = 0
    problems: list[str] = field(default_factory=list)

    def summarise(
        self, articles: Sequence[Article], words: int, fallback: str, language: str = "en"
    ) -> str:
        """The LLM's summary (in ``language``, a primary tag) when it passes the
        checks, else ``fallback``."""
        messages = _messages(articles, words, language)
        key = hashlib.sha256(
            json.dumps([self.model, messages], ensure_ascii=False).encode()
        ).hexdigest()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        headline = articles[0].title if articles else "?"
        estimate = sum(len(m["content"]) for m in messages) // 4 + self.max_answer_tokens
        if self.tokens_used + estimate > self.max_tokens_per_edition:
            return self._fallback(headline, "the edition's token budget is used up", fallback)
        try:
            answer, used = self._ask(messages)
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            return self._fallback(headline, f"{type(exc).__name__}: {exc}", fallback)
        self.tokens_used += used or estimate
        problem = check_answer(answer, articles, words)
        if problem:
            return self._fallback(headline, problem, fallback)
        self.cache.put(key, answer)
        return answer

    def _ask(self, messages: list[dict[str, str]]) -> tuple[str, int]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        response = self.client.post(
            self.url,
            json={
                "model": self.model,
                "messages": messages,
                "max_tokens": self.max_answer_tokens,
                "temperature": 0,
            },
            headers=headers,
            timeout=self.timeout_seconds,
        )
        response.raise_for_status()
        data = response.json()
        answer = " ".join(str(data["choices"][0]["message"]["content"]).split())
        used = int((data.get("usage") or {}).get("total_tokens") or 0)
        return answer, used

    def _fallback(self, headline: str, why: str, fallback: str) -> str:
        self.problems.append(f"LLM summary of {headline!r} not used ({why}); extractive kept")
        log.info("%s", self.problems[-1])
        return fallback


def _messages(articles: Sequence[Article], words: int, language: str) -> list[dict[str, str]]:
    sources = "\n\n".join(
        f"[{n}] {a.source}: {a.title}\n{a.text[:SOURCE_CHARS]}" for n, a in enumerate(articles, 1)
    )
    system = SYSTEM_PROMPT.format(words=words)
    if language != "en":
        system += LANGUAGE_PROMPT.format(language=_language_name(language))
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Articles about one story:\n\n{sources}"},
    ]


def _language_name(language: str) -> str:
    """ "Spanish" for "es" (CLDR, through Babel); the tag itself when unknown."""
    try:
        return str(Locale("en").languages.get(language) or language)
    except (UnknownLocaleError, ValueError):
        return language


def check_answer(answer: str, articles: Sequence[Article], words: int) -> str | None:
    """Why the answer cannot be used, or None when it passes."""
    count = len(answer.split())
    if count < 5:
        return "the answer is empty or too short"
    if count > words * 1.5:
        return f"the answer has {count} words, over the budget of {words}"
    sources = " ".join(f"{a.title} {a.text} {a.url or ''}" for a in articles)
    for url in _URL.findall(answer):
        if url.rstrip(".,);") not in sources:
            return f"the answer links {url!r}, which no source has"
    known = {_plain(n) for n in _NUMBER.findall(sources)}
    for number in _NUMBER.findall(answer):
        if _plain(number) not in known:
            return f"the answer says {number!r}, a number no source has"
    return None


def _plain(number: str) -> str:
    return number.replace(",", "").rstrip(".")
