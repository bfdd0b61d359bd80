"""SIGTERM and SIGINT for the commands that send (`digest run`, `digest send`): the
first one asks the components to stop between batches, so the batch in flight is
finished and recorded, the edition's lease given back and the rest left pending (the
scheduler's catch-up or the next run finishes it); a second one stops at once.

Handlers only set an event: they interrupt the main thread anywhere, even inside a
lock that logging or the database need."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# `digest run` / `digest send` stopped on request with deliveries left pending.
STOPPED_EXIT_CODE = 4


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set ``stop`` (a second one ends the process
    as the signal would); the previous handlers after."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
