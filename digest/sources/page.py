"""A single web page fetched over HTTP; its main text is extracted by the cleaning stage."""

from __future__ import annotations

from digest.errors import SourceError
from digest.models import RawDocument
from digest.sources.http import Fetcher


class PageSource:
    def __init__(
        self,
        name: str,
        url: str,
        fetcher: Fetcher,
        *,
        topic: str | None = None,
        local: bool = False,
    ) -> None:
        self.name = name
        self.url = url
        self.fetcher = fetcher
        self.topic = topic
        self.local = local

    def fetch(self) -> list[RawDocument]:
        body, content_type = self.fetcher.get(self.name, self.url, allow_private=self.local)
        if content_type and "html" not in content_type and "xml" not in content_type:
            raise SourceError(self.name, f"{self.url} is {content_type}, not a web page")
        try:
            html = body.decode(_charset(content_type) or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            html = body.decode("utf-8", errors="replace")
        return [
            RawDocument(
                source=self.name, url=self.url, html=html, topic_hint=self.topic, origin=self.url
            )
        ]


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"'")
    return None
