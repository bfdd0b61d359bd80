"""Fetching over HTTP for every source: one shared httpx client behind a Fetcher that
adds what the open web needs.

- Limits: at most ``per_host`` requests at once to one host, ``per_host_delay``
  between them; the pipeline caps the total by fetching sources on a bounded pool.
- Retries with exponential backoff on 429 (honouring Retry-After), 5xx and
  connection errors; redirects followed by hand, up to a limit.
- Safety: links come from third parties, so a host resolving to a loopback,
  private, link-local, reserved or metadata address is refused, at every redirect
  hop, unless the source is configured as local. Bodies are cut at ``max_bytes``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from digest import __version__
from digest.errors import SourceError

USER_AGENT = f"digest/{__version__} (newsletter digest builder)"
MAX_BYTES = 10 * 1024 * 1024

Resolver = Callable[[str], list[str]]


def make_client(timeout: float = 20.0) -> httpx.Client:
    """A client with the project's User-Agent and timeouts; redirects are followed by
    the Fetcher, which checks every hop."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
    )


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    per_host: int = 2
    per_host_delay: float = 0.0
    retries: int = 2
    backoff: float = 0.5
    max_retry_wait: float = 30.0
    max_redirects: int = 5
    max_bytes: int = MAX_BYTES


class Fetcher:
    """GETs URLs for sources, politely and safely (see the module docstring)."""

    def __init__(
        self,
        client: httpx.Client,
        policy: FetchPolicy = FetchPolicy(),
        *,
        resolver: Resolver = resolve,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.policy = policy
        self.resolver = resolver
        self.sleep = sleep
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._last: dict[str, float] = {}

    def get(self, source: str, url: str, *, allow_private: bool = False) -> tuple[bytes, str]:
        """The body (at most ``max_bytes``) and content type of ``url``."""
        for _ in range(self.policy.max_redirects + 1):
            host = self._check(source, url, allow_private)
            status, location, body, content_type = self._request(source, host, url)
            if 300 <= status < 400 and location:
                url = urljoin(url, location)
                continue
            return body, content_type
        raise SourceError(source, f"more than {self.policy.max_redirects} redirects from {url}")

    def _check(self, source: str, url: str, allow_private: bool) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(source, f"{url} is not an http(s) URL")
        host = parts.hostname.lower()
        if allow_private:
            return host
        try:
            addresses = [host] if _is_ip(host) else self.resolver(host)
        except OSError as exc:
            raise SourceError(source, str(exc)) from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global or ip.is_multicast:
                raise SourceError(
                    source,
                    f"refused to fetch {url}: {host} is {address}, a private or local address "
                    "(set local = true on the source to allow it)",
                )
        return host

    def _request(self, source: str, host: str, url: str) -> tuple[int, str, bytes, str]:
        attempt = 0
        while True:
            try:
                with self._host_slot(host), self.client.stream("GET", url) as response:
                    status = response.status_code
                    if status == 429 or status >= 500:
                        wait = _retry_after(response.headers.get("Retry-After"))
                        raise _Retry(f"HTTP {status} from {url}", wait)
                    if status >= 400:
                        raise SourceError(source, f"HTTP {status} from {url}")
                    if 300 <= status < 400:
                        return status, response.headers.get("location", ""), b"", ""
                    body = self._read(source, url, response)
                    return status, "", body, response.headers.get("content-type", "")
            except (_Retry, httpx.TransportError) as exc:
                attempt += 1
                reason = str(exc) if isinstance(exc, _Retry) else f"{type(exc).__name__}: {exc}"
                if attempt > self.policy.retries:
                    raise SourceError(source, f"cannot fetch {url}: {reason}") from None
                wait = exc.wait if isinstance(exc, _Retry) and exc.wait is not None else None
                delay = wait if wait is not None else self.policy.backoff * 2 ** (attempt - 1)
                self.sleep(min(delay, self.policy.max_retry_wait))
            except httpx.HTTPError as exc:
                raise SourceError(
                    source, f"cannot fetch {url}: {type(exc).__name__}: {exc}"
                ) from None

    def _read(self, source: str, url: str, response: httpx.Response) -> bytes:
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > self.policy.max_bytes:
                raise SourceError(source, f"{url} is larger than {self.policy.max_bytes} bytes")
        return bytes(body)

    def _host_slot(self, host: str) -> _HostSlot:
        with self._lock:
            semaphore = self._hosts.setdefault(
                host, threading.BoundedSemaphore(self.policy.per_host)
            )
        return _HostSlot(self, host, semaphore)


class _HostSlot:
    """Holds one of a host's request slots and keeps the per-host delay."""

    def __init__(self, fetcher: Fetcher, host: str, semaphore: threading.BoundedSemaphore) -> None:
        self.fetcher, self.host, self.semaphore = fetcher, host, semaphore

    def __enter__(self) -> None:
        self.semaphore.acquire()
        delay = self.fetcher.policy.per_host_delay
        if delay:
            with self.fetcher._lock:
                wait = self.fetcher._last.get(self.host, 0.0) + delay - time.monotonic()
                self.fetcher._last[self.host] = time.monotonic() + max(0.0, wait)
            if wait > 0:
                self.fetcher.sleep(wait)

    def __exit__(self, *exc: object) -> None:
        self.semaphore.release()


class _Retry(Exception):
    def __init__(self, message: str, wait: float | None) -> None:
        super().__init__(message)
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
