"""Shared fixtures: model factories, a config in a temp dir, a real local HTTP server."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from threadpoolctl import threadpool_info

from digest.components import Components, build_components
from digest.delivery.transport import Transport
from digest.models import Article
from digest.settings.config import Settings, load_settings
from digest.sources.http import resolve
from tests.localserver import QuietHandler, ThreadedServer

if TYPE_CHECKING:
    from tests.scenarios import Scenario
    from tests.sendgrid_server import SendGridServer

REPO = Path(__file__).resolve().parent.parent
FIXED_NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand; ``sleep`` records the wait and moves it on."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def make_components(
    config: Path | Settings,
    *,
    clock: Callable[[], datetime] = lambda: FIXED_NOW,
    transport: Transport | None = None,
    environ: dict[str, str] | None = None,
) -> Components:
    """Components of a config file (read with ``environ``) or of settings, on a fixed
    clock by default; the caller closes them."""
    settings = config if isinstance(config, Settings) else load_settings(config, environ or {})
    return build_components(settings, clock=clock, transport=transport)


def thread_counts() -> set[int]:
    """The thread counts the process's BLAS and OpenMP pools are set to now."""
    return {pool["num_threads"] for pool in threadpool_info()}


def threads_inside(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[set[int]]:
    """Record ``thread_counts()`` at each call of ``module.name`` from now on."""
    seen: list[set[int]] = []
    original = getattr(module, name)

    def watched(*args: Any) -> Any:
        seen.append(thread_counts())
        return original(*args)

    monkeypatch.setattr(module, name, watched)
    return seen


def count_rows(store: object, table: str) -> int:
    """Rows in a table of a store (``Store``), for tests that count what was kept."""
    from sqlalchemy import text

    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def make_article(
    id: str = "a1",
    *,
    source: str = "Outlet",
    title: str = "A headline",
    text: str = "A sentence about the news of the day that is long enough to count.",
    url: str | None = None,
    published: datetime | None = None,
    topic_hint: str | None = None,
) -> Article:
    """Article factory with harmless defaults."""
    return Article(
        id=id,
        source=source,
        title=title,
        text=text,
        url=url if url is not None else f"https://{source.lower().replace(' ', '')}.example/{id}",
        published=published or FIXED_NOW - timedelta(hours=2),
        topic_hint=topic_hint,
    )


@pytest.fixture
def article_factory() -> Callable[..., Article]:
    return make_article


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped config and samples in a temp dir; returns the config path.

    Paths in the config are relative to it, so var/, outbox/ land in tmp_path too.
    """
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    (tmp_path / "templates").mkdir()
    return tmp_path / "config" / "digest.toml"


# A public address (example.com's) that stands for every public host in the tests:
# the resolver answers it for any name but the loopback's, the network routes it to
# the local server. The address checks see a public host; the test server answers.
PUBLIC_ADDRESS = "93.184.216.34"
PUBLIC_HOST = "news.example"


def public_resolver(host: str) -> list[str]:
    """:data:`PUBLIC_HOST` is public; every other name resolves as it really does."""
    return [PUBLIC_ADDRESS] if host == PUBLIC_HOST else resolve(host)


class PublicNetwork(httpx.HTTPTransport):
    """Connections to :data:`PUBLIC_ADDRESS` go to the local server instead."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC_ADDRESS:
            request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


def public_client(timeout: float = 5.0) -> httpx.Client:
    """A client whose network has public hosts served by the local server."""
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=PublicNetwork())


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """A real HTTP server on 127.0.0.1 serving configured routes; records requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.scripts: dict[str, list[Route]] = {}  # answered in order, then `routes`
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []  # of each request, in order
        # Paths answered by a function of the request handler (304s, endless bodies ...).
        self.handlers: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(self.path)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    script = server.scripts.get(self.path)
                    route = (
                        script.pop(0)
                        if script
                        else server.routes.get(self.path, Route(404, b"not found"))
                    )
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    custom = server.handlers.get(self.path)
                    if custom is not None:
                        custom(self)
                        return
                    self._answer(route)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def do_POST(self) -> None:  # answered by a handler function only
                with server._lock:
                    server.requests.append(self.path)
                custom = server.handlers.get(self.path)
                if custom is None:
                    self._answer(Route(405, b"no POST here"))
                    return
                custom(self)

            def _answer(self, route: Route) -> None:
                self.send_response(route.status)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        self.server = ThreadedServer(Handler)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def public_url(self) -> str:
        """This server under a public host name: reached through :class:`PublicNetwork`
        with :func:`public_resolver`, as a third party's host on the internet."""
        return self.server.url.replace("127.0.0.1", PUBLIC_HOST)

    def serve(
        self, path: str, body: bytes | str, status: int = 200, content_type: str = "text/html"
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(status, data, {"Content-Type": content_type})
        return self.url + path


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite golden files from the current output"
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with tests/golden/NAME; --update-golden rewrites the file instead."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, actual: str) -> None:
        path = REPO / "tests" / "golden" / name
        if update or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            if not update:
                pytest.fail(f"golden file {path} was missing and has been written; check it in")
        assert actual == path.read_text(encoding="utf-8"), f"differs from {path} (--update-golden)"

    return check


POSTGRES_URL = os.environ.get("DIGEST_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, and PostgreSQL when one is available
    (`make test` starts one with .ci/postgres; CI always has it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'digest.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (DIGEST_TEST_POSTGRES_URL unset)")
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()


@pytest.fixture
def stand_in() -> Iterator[SendGridServer]:
    """The SendGrid stand-in of the scenario tests: each mail send answered after
    20 ms, so a send of 20 requests takes about half a second and more."""
    from tests.sendgrid_server import SendGridServer

    server = SendGridServer().start()
    server.delay = 0.02
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_scenario(
    project: Path, stand_in: SendGridServer, database_url: str
) -> Iterator[Callable[..., Scenario]]:
    """Makes the installation of a scenario test (``tests/scenarios.py``) with the given
    settings, against :func:`stand_in`; every process it started is killed after."""
    from tests.scenarios import Scenario

    made: list[Scenario] = []

    def make(**settings: Any) -> Scenario:
        made.append(Scenario(project, stand_in, database_url, **settings))
        return made[-1]

    try:
        yield make
    finally:
        for scenario in made:
            scenario.stop_all()
