"""The optional LLM summariser against a local OpenAI-compatible endpoint that answers
well, slowly, badly and not at all. The extractive summary is always the fallback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest import pipeline
from digest.components import build_components
from digest.delivery.transport import MemoryTransport
from digest.errors import ConfigError
from digest.settings.config import load_settings
from digest.summarise.llm import LLMSummariser, MemoryCache, check_answer
from tests.conftest import FIXED_NOW, make_article
from tests.localserver import QuietHandler, ThreadedServer

GOOD = "Port Alder council approved a 4.2 km tram extension on Wednesday, adding six stops."
ARTICLE = make_article(
    "a1",
    title="Council approves tram extension",
    text="Port Alder council approved a 4.2 km tram extension on Wednesday. It adds six stops "
    "and costs 186 million crowns.",
)


class FakeLLM:
    """An OpenAI-compatible /v1/chat/completions on loopback; ``answer`` decides the reply."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: Callable[[dict[str, Any]], tuple[int, Any]] = lambda body: (200, _reply(GOOD))
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                status, data = fake.answer(body)
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadedServer(Handler)

    @property
    def url(self) -> str:
        return self.server.url + "/v1/chat/completions"


def _reply(text: str, tokens: int = 150) -> dict[str, Any]:
    return {
        "choices": [{"message": {"role": "assistant", "content": text}}],
        "usage": {"total_tokens": tokens},
    }


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    server = FakeLLM()
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop()


def _summariser(url: str, **kwargs: Any) -> LLMSummariser:
    return LLMSummariser(
        client=httpx.Client(),
        url=url,
        model="test-model",
        api_key="sk-test",
        cache=MemoryCache(),
        timeout_seconds=0.5,
        **kwargs,
    )


def test_a_good_answer_is_used_and_cached(fake: FakeLLM) -> None:
    llm = _summariser(fake.url)
    assert llm.summarise([ARTICLE], 60, fallback="extractive") == GOOD
    assert llm.summarise([ARTICLE], 60, fallback="extractive") == GOOD
    assert len(fake.requests) == 1  # the second came from the cache
    request = fake.requests[0]
    assert request["auth"] == "Bearer sk-test" and request["body"]["model"] == "test-model"
    prompt = request["body"]["messages"][1]["content"]
    assert "186 million crowns" in prompt and ARTICLE.title in prompt
    assert llm.problems == [] and llm.tokens_used == 150


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            lambda body: (200, _reply("The council approved 12 new stops for 900 million crowns.")),
            "number no source has",
        ),
        (
            lambda body: (200, _reply(GOOD + " More at https://evil.example/x")),
            "which no source has",
        ),
        (lambda body: (200, _reply("word " * 200)), "over the budget"),
        (
            lambda body: (
                200,
                _reply(""),
            ),
            "too short",
        ),
        (lambda body: (500, {"error": "overloaded"}), "HTTPStatusError"),
        (lambda body: (200, {"unexpected": True}), "KeyError"),
        (lambda body: (time.sleep(1.0), (200, _reply(GOOD)))[1], "Timeout"),
    ],
    ids=["invented-number", "foreign-url", "too-long", "empty", "500", "malformed", "slow"],
)
def test_bad_answers_fall_back_to_extractive(fake: FakeLLM, answer: Any, why: str) -> None:
    fake.answer = answer
    llm = _summariser(fake.url)
    assert llm.summarise([ARTICLE], 60, fallback="extractive") == "extractive"
    assert len(llm.problems) == 1 and why in llm.problems[0]
    assert "Council approves tram extension" in llm.problems[0]


def test_an_endpoint_that_is_not_there(fake: FakeLLM) -> None:
    llm = _summariser("http://127.0.0.1:9/v1/chat/completions")
    assert llm.summarise([ARTICLE], 60, fallback="extractive") == "extractive"
    assert "ConnectError" in llm.problems[0]


def test_the_token_budget_stops_calls(fake: FakeLLM) -> None:
    llm = _summariser(fake.url, max_tokens_per_edition=1000, max_answer_tokens=200)
    results = [
        llm.summarise(
            [make_article(f"a{n}", title=f"Story {n}", text=ARTICLE.text)], 60, fallback="x"
        )
        for n in range(10)
    ]
    assert results.count(GOOD) >= 1 and results[-1] == "x"
    assert llm.tokens_used <= 1000
    assert any("token budget" in p for p in llm.problems)


def test_check_answer_accepts_numbers_written_as_in_the_sources() -> None:
    article = make_article("a", text="Sales rose to 1,250 units, up 4.5 per cent, in 2026.")
    assert (
        check_answer(
            "Sales rose to 1250 units in 2026, up 4.5 per cent from last year.", [article], 60
        )
        is None
    )


def _llm_project(project: Path, url: str) -> None:
    project.write_text(
        project.read_text()
        + f'\n[summaries]\nmode = "llm"\n\n[summaries.llm]\nurl = "{url}"\nmodel = "test-model"\ntimeout_seconds = 2\n'
    )


def test_pipeline_uses_llm_summaries_and_reports_failures(fake: FakeLLM, project: Path) -> None:
    _llm_project(project, fake.url)
    calls = {"n": 0}

    def answer(body: dict[str, Any]) -> tuple[int, Any]:
        calls["n"] += 1
        return (500, {}) if calls["n"] == 2 else (200, _reply(GOOD))

    fake.answer = answer
    settings = load_settings(project, {"DIGEST_LLM_API_KEY": "sk-live"})
    c = build_components(settings, clock=lambda: FIXED_NOW, transport=MemoryTransport())
    report = pipeline.run(c, None)
    assert fake.requests[0]["auth"] == "Bearer sk-live"
    stored = c.store.editions.latest("morning")
    assert stored is not None
    summaries = [s.summary for s in stored.edition.stories]
    # GOOD passes the checks only where its numbers are in the sources; elsewhere the
    # extractive summary stays. Either way every failure is in the report.
    assert len(fake.requests) >= len(stored.edition.stories)
    assert any("HTTPStatusError" in n for n in report.notes)
    assert all(summaries)


def test_llm_mode_without_endpoint_is_a_config_error(project: Path) -> None:
    project.write_text(project.read_text() + '\n[summaries]\nmode = "llm"\n')
    with pytest.raises(ConfigError, match="summaries"):
        load_settings(project, {})


def test_llm_key_in_the_file_is_refused(project: Path) -> None:
    _llm_project(project, "http://127.0.0.1:9/v1")
    project.write_text(project.read_text() + 'api_key = "sk-in-file"\n')
    with pytest.raises(ConfigError, match="DIGEST_LLM_API_KEY"):
        load_settings(project, {})
