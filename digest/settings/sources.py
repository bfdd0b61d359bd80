"""Settings of sources and of fetching them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from digest.settings.fields import HTTP_URL, LANGUAGE_TAG, Frozen, is_http_url, resolve_path


class SourceSettings(Frozen):
    """One place articles come from."""

    name: str = Field(min_length=1)
    kind: Literal["feed", "folder", "page"]
    url: str | None = None
    path: Path | None = None
    topic: str | None = None
    limit: int | None = Field(default=None, ge=1)
    enabled: bool = True
    # Multiplies the ranking score of the stories this source tells (the highest
    # weight among a story's sources counts): 2 ranks them as if told twice as widely.
    weight: float = Field(default=1.0, ge=0.1, le=10.0)
    # Allow fetching from loopback or private addresses (an intranet feed, a test host).
    local: bool = False
    # Feeds: for an item that carries only a teaser (or only a title and a link), fetch
    # the linked page and use its main text (the teaser stays when that fails, and the
    # run report says why). Unset: on for feeds over http(s), off for feed files.
    full_text: bool = False
    # A BCP 47 tag ("en", "pt-BR") kept on the articles; else the feed's or page's own.
    language: str | None = None
    # The web site a feed belongs to (OPML's htmlUrl): kept by `digest sources import`,
    # written by `digest sources export`.
    site: str | None = None

    _resolve_path = field_validator("path")(
        lambda v, info: resolve_path(v, info) if v is not None else None
    )

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL (use 'path' for a local file)")
        return value

    @field_validator("site")
    @classmethod
    def _site_scheme(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value):
            raise ValueError(f"{value!r} is not an http(s) URL (the feed's web site)")
        return value

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a language tag (e.g. 'en', 'pt-BR')")
        return value

    @model_validator(mode="before")
    @classmethod
    def _full_text_default(cls, data: Any) -> Any:
        """``full_text`` left out: on for a feed fetched over http(s), off otherwise."""
        if isinstance(data, dict) and data.get("full_text") is None:
            over_http = data.get("kind") == "feed" and data.get("url") is not None
            return {**data, "full_text": over_http}
        return data

    @model_validator(mode="after")
    def _location(self) -> SourceSettings:
        if self.kind == "folder" and self.path is None:
            raise ValueError(f"source {self.name!r}: a folder source needs 'path'")
        if self.kind == "page" and self.url is None:
            raise ValueError(f"source {self.name!r}: a page source needs 'url'")
        if self.kind == "feed" and (self.url is None) == (self.path is None):
            raise ValueError(f"source {self.name!r}: a feed source needs one of 'url' or 'path'")
        if self.full_text and self.kind != "feed":
            raise ValueError(f"source {self.name!r}: full_text applies to feed sources only")
        return self

    @property
    def location(self) -> str:
        return self.url or str(self.path)


class FetchingSettings(Frozen):
    """How sources are fetched over HTTP."""

    max_concurrency: int = Field(default=32, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=32)
    per_host_delay_seconds: float = Field(default=0.0, ge=0)
    retries: int = Field(default=2, ge=0, le=10)
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
