"""What every command shares: the consoles, the --config option, settings and
components built from it, a progress bar, finding a stored edition."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from digest.components import Components, build_components
from digest.errors import NotFoundError
from digest.settings.config import Settings, config_path, load_settings
from digest.store.editions import StoredEdition

out = Console()


err = Console(stderr=True)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file [default: $DIGEST_CONFIG or config/digest.toml]"
    ),
]


EditionOption = Annotated[
    str | None, typer.Option("--edition", "-e", help="Edition name [default: the first]")
]


def settings_from(config: Path | None) -> Settings:
    """The settings of ``--config``, ``$DIGEST_CONFIG`` or the default file."""
    return load_settings(config_path(config, os.environ), os.environ)


@contextmanager
def components_from(config: Path | None) -> Iterator[Components]:
    components = build_components(settings_from(config))
    try:
        yield components
    finally:
        components.close()


class _RichProgress:
    """Adapts rich's progress bar to :class:`digest.pipeline.Progress`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def task(self, label: str, total: int) -> Callable[[int], None]:
        task_id = self.progress.add_task(label, total=total)
        return lambda n: self.progress.advance(task_id, n)


@contextmanager
def progress_bar() -> Iterator[_RichProgress]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        yield _RichProgress(bar)


def find_edition(c: Components, name: str) -> StoredEdition:
    """``name`` or ``name/period``: the latest period when none is given."""
    edition, _, period = name.partition("/")
    stored = c.store.editions.get(edition, period) if period else c.store.editions.latest(edition)
    if stored is None:
        raise NotFoundError(f"no edition {name!r} has been built yet (try 'digest build')")
    return stored


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
