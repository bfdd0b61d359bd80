"""Fetching over HTTP for every source: one shared httpx client behind a Fetcher that
adds what the open web needs.

- Limits: at most ``per_host`` requests at once to one host, ``per_host_delay``
  between them; the pipeline caps the total by fetching sources on a bounded pool.
- Retries with exponential backoff on 429 (honouring Retry-After), 5xx and
  connection errors; redirects followed by hand, up to a limit.
- Safety: links come from third parties, so a host resolving to a loopback,
  private, link-local, unique-local, reserved or metadata address (also written as
  an IPv4-mapped IPv6 address or a decimal, octal, hex or short IPv4 form, which the
  resolver turns into the address it means) is refused, at every redirect hop. A
  source configured as local may reach a private address only at the exact URL the
  operator configured and at redirects that stay on its origin (scheme, host and
  port): never through its items' links or a redirect elsewhere. A plain-http
  connection then goes
  to the address that was checked (the URL names the IP, the Host header the host),
  so DNS cannot answer differently the second time (DNS rebinding). https needs no
  pinning: a rebound address cannot show a certificate for the host, and the
  handshake fails before a request is sent (pinning it would also let the pool reuse
  one host's TLS connection for another host on the same address, unverified).
  Bodies are cut at ``max_bytes`` (after gzip/deflate decoding).
- Conditional GET: ``fetch`` sends If-None-Match / If-Modified-Since when given
  the validators of the last answer; a 304 comes back as ``not_modified``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from digest import __version__
from digest.errors import SourceError
from digest.sources.source import Validators

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
    """Every address ``host`` resolves to, in the system's order of preference."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Download:
    """One answer: the body of a 200, or a 304 with no body."""

    url: str  # after redirects
    status: int
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    per_host: int = 2
    per_host_delay: float = 0.0
    retries: int = 2
    backoff: float = 0.5
    max_retry_wait: float = 30.0
    max_redirects: int = 5
    max_bytes: int = MAX_BYTES


def fetch_changed(
    fetcher: Fetcher,
    source: str,
    url: str,
    previous: Validators | None,
    *,
    allow_private: bool = False,
) -> tuple[Download, Validators | None]:
    """GET ``url``, sending the validators of the last answer for the same URL (a
    server may then answer 304: ``download.not_modified``). Returns the download and
    the validators to keep: the old ones after a 304, else the new ones, if any."""
    same = previous if previous is not None and previous.url == url else None
    download = fetcher.fetch(
        source,
        url,
        allow_private=allow_private,
        etag=same.etag if same else None,
        last_modified=same.last_modified if same else None,
    )
    if download.not_modified:
        return download, same
    if not (download.etag or download.last_modified):
        return download, None
    return download, Validators(url=url, etag=download.etag, last_modified=download.last_modified)


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

    def fetch(
        self,
        source: str,
        url: str,
        *,
        allow_private: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Download:
        """GET ``url`` following redirects; with ``etag`` / ``last_modified`` (from the
        last answer) a server may answer 304, returned with an empty body.

        ``allow_private`` (a local source's own URL) holds for ``url`` and for the
        redirects that stay on its origin only."""
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        origin = _origin(url)
        for _ in range(self.policy.max_redirects + 1):
            target = self._target(source, url, allow_private and _origin(url) == origin)
            response = self._request(source, target, url, conditional)
            if response.location:
                url = urljoin(url, response.location)
                continue
            return Download(
                url=url,
                status=response.status,
                body=response.body,
                content_type=response.headers.get("content-type", ""),
                etag=_header(response.headers, "etag"),
                last_modified=_header(response.headers, "last-modified"),
            )
        raise SourceError(source, f"more than {self.policy.max_redirects} redirects from {url}")

    def _target(self, source: str, url: str, allow_private: bool) -> _Target:
        """Where to connect for ``url``: its host's addresses, each checked."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(source, f"{url} is not an http(s) URL")
        host = parts.hostname.lower()
        try:
            addresses = [host] if _is_ip(host) else self.resolver(host)
        except OSError as exc:
            raise SourceError(source, str(exc)) from None
        if not addresses:
            raise SourceError(source, f"cannot resolve {host}: no addresses")
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not allow_private and (not ip.is_global or ip.is_multicast):
                raise SourceError(
                    source,
                    f"refused to fetch {url}: {host} is {address}, a private or local address"
                    + (
                        ""
                        if allow_private
                        else " (only a local source's own URL may be one: local = true)"
                    ),
                )
        return _Target(url, host, tuple(addresses))

    def _request(
        self, source: str, target: _Target, url: str, conditional: dict[str, str]
    ) -> _Answer:
        attempt, address = 0, 0
        while True:
            pinned, headers = target.pinned(address)
            try:
                with (
                    self._host_slot(target.host),
                    self.client.stream(
                        "GET", pinned, headers={**headers, **conditional}
                    ) as response,
                ):
                    status = response.status_code
                    if status == 429 or status >= 500:
                        wait = _retry_after(response.headers.get("Retry-After"))
                        raise _Retry(f"HTTP {status} from {url}", wait)
                    if status >= 400:
                        raise SourceError(source, f"HTTP {status} from {url}")
                    if status == 304:
                        return _Answer(status, "", b"", response.headers)
                    if 300 <= status < 400:
                        location = response.headers.get("location", "")
                        if not location:
                            raise SourceError(
                                source, f"HTTP {status} from {url} without a Location"
                            )
                        return _Answer(status, location, b"", response.headers)
                    body = self._read(source, url, response)
                    return _Answer(status, "", body, response.headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if address + 1 < len(target.addresses):
                    address += 1  # the host's next address, at once
                    continue
                address = 0
                attempt = self._retry_or_give_up(source, url, attempt, exc)
            except (_Retry, httpx.TransportError) as exc:
                attempt = self._retry_or_give_up(source, url, attempt, exc)
            except httpx.HTTPError as exc:
                raise SourceError(
                    source, f"cannot fetch {url}: {type(exc).__name__}: {exc}"
                ) from None

    def _retry_or_give_up(self, source: str, url: str, attempt: int, exc: Exception) -> int:
        attempt += 1
        reason = str(exc) if isinstance(exc, _Retry) else f"{type(exc).__name__}: {exc}"
        if attempt > self.policy.retries:
            raise SourceError(source, f"cannot fetch {url}: {reason}") from None
        wait = exc.wait if isinstance(exc, _Retry) and exc.wait is not None else None
        delay = wait if wait is not None else self.policy.backoff * 2 ** (attempt - 1)
        self.sleep(min(delay, self.policy.max_retry_wait))
        return attempt

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


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL and the checked addresses of its host."""

    url: str
    host: str
    addresses: tuple[str, ...]

    def pinned(self, index: int) -> tuple[str, dict[str, str]]:
        """For plain http, the URL naming address ``index`` instead of the host and
        the Host header that keeps the request what it was; https is left as is."""
        parts = urlsplit(self.url)
        if parts.scheme != "http" or _is_ip(self.host):
            return self.url, {}
        address = self.addresses[index].split("%", 1)[0]
        literal = f"[{address}]" if ":" in address else address
        port = f":{parts.port}" if parts.port is not None else ""
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{literal}{port}" if userinfo else f"{literal}{port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return pinned, {"Host": f"{self.host}{port}"}


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    location: str
    body: bytes
    headers: httpx.Headers


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


def _header(headers: httpx.Headers, name: str) -> str | None:
    value = headers.get(name)
    # A validator is echoed back verbatim; an absurd one is not worth keeping.
    return value if value and len(value) <= 1000 else None


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one spelled out) of ``url``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port if port is not None else default


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
