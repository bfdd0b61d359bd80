"""URL canonicalisation: one article reached through two feeds is recognised by it."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_")
_TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "yclid", "ref_src", "cmpid"}
)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment, default ports and tracking parameters."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port  # ValueError for a bad port: callers check is_web_url first
    scheme = parts.scheme.lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def is_web_url(url: str | None) -> bool:
    """True for absolute http(s) URLs, the only kind that may become a link in an email."""
    if not url:
        return False
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def attribute_url(url: str) -> str:
    """A web URL safe to place in an HTML attribute even after re-serialisation
    (which unescapes entities): characters that could end or confuse markup are
    percent-encoded."""
    return quote(url.strip(), safe="/:?#[]@!$&()*+,;=%~-._")
