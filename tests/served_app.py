"""The web app served by uvicorn on a free local port, for tests that talk to it over
HTTP (feed readers, browsers) rather than in process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from digest.components import Components
from digest.web.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(c: Components, port: int) -> Iterator[None]:
    """The web app of ``c`` served by uvicorn on ``port`` until the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(c), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
