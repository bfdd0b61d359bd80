"""The one HTTP client all sources share, and fetching a URL as bytes."""

from __future__ import annotations

import httpx

from digest import __version__
from digest.errors import SourceError

USER_AGENT = f"digest/{__version__} (newsletter digest builder; +https://github.com/digest)"
MAX_BYTES = 10 * 1024 * 1024


def make_client(timeout: float = 20.0) -> httpx.Client:
    """A client with the project's User-Agent, timeouts and a redirect limit."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=True,
        max_redirects=5,
    )


def fetch_bytes(client: httpx.Client, source: str, url: str) -> tuple[bytes, str]:
    """GET ``url``; return the body (at most ``MAX_BYTES``) and its content type."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise SourceError(source, f"HTTP {response.status_code} from {url}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_BYTES:
                    raise SourceError(
                        source, f"response from {url} is larger than {MAX_BYTES} bytes"
                    )
            return bytes(body), response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise SourceError(source, f"cannot fetch {url}: {exc.__class__.__name__}: {exc}") from None
