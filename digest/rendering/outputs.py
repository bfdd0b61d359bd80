"""What rendering writes besides the email: the preview file of an edition and its
standalone web page (the public archive's source)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from digest.models import Edition, RenderedMessage, Section
from digest.rendering.renderer import Renderer
from digest.settings.config import Settings


def preview_message(
    renderer: Renderer,
    settings: Settings,
    edition: Edition,
    sections: Sequence[Section] | None = None,
) -> RenderedMessage:
    """The edition as a subscriber without a name gets it (every section, or those)."""
    config = settings.edition_or_default(edition.name)
    return renderer.preview(edition, config.preheader, theme=config.theme, sections=sections)


def write_preview(
    renderer: Renderer,
    settings: Settings,
    edition: Edition,
    out: Path | None = None,
    *,
    text: bool = False,
    message: RenderedMessage | None = None,
) -> Path:
    """Write the edition as a subscriber without a name sees it, HTML (or text);
    ``message`` when it is rendered already."""
    message = message or preview_message(renderer, settings, edition)
    path = (
        out
        or settings.var_dir
        / "previews"
        / f"{edition.name}-{edition.period}.{'txt' if text else 'html'}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message.text if text else message.html, encoding="utf-8")
    return path


def write_web_version(renderer: Renderer, settings: Settings, edition: Edition) -> Path:
    """The edition as a standalone page in the web folder (the archive's source)."""
    path = settings.web.editions_dir / edition.name / f"{edition.period}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    theme = settings.edition_or_default(edition.name).theme
    path.write_text(renderer.web_page(edition, theme=theme), encoding="utf-8")
    return path
