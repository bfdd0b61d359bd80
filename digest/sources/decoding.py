"""What a fetched body is: binary content is refused with a reason, text is decoded with
the right charset even when the declared one is missing or wrong.

The charset comes from, in order: a byte-order mark; bytes that are valid UTF-8 beyond
ASCII (other encodings almost never form valid UTF-8 by chance, while servers often
declare ISO-8859-1 for UTF-8 pages); the Content-Type header's charset, then the
document's own declaration (``<?xml encoding>``, ``<meta charset>``), each only if the
bytes decode under it; then charset-normalizer's guess (windows-1252 on a tie).
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from digest.errors import SourceError

# Declared types that are never text, whatever the bytes say.
_BINARY_TYPES = re.compile(
    r"^(image|audio|video|font|model)/|^application/("
    r"pdf|zip|gzip|x-gzip|x-tar|x-bzip2?|x-7z-compressed|x-rar-compressed|vnd\.rar|wasm"
    r"|msword|vnd\.ms-|vnd\.openxmlformats-|vnd\.oasis\.opendocument\.|x-shockwave-flash"
    r"|java-archive|x-msdownload|x-executable)"
)
# Magic numbers of common binary formats, checked whatever the declared type.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an MS Office document"),
    (b"RIFF", "RIFF media (WebP, WAV, AVI)"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC file"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
    (b"\x00asm", "WebAssembly"),
    (b"\x7fELF", "an executable"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# XML without a BOM announces UTF-16 by how "<?" is laid out (XML 1.0, appendix F).
_UTF16_XML = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})")
_META_CHARSET = re.compile(
    rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]{1,40})", re.I
)
# WHATWG: browsers read these labels as windows-1252, and so do pages that use them.
_AS_CP1252 = frozenset({"latin_1", "iso8859_1", "ascii", "cp1252"})
SNIFF_BYTES = 1024


def binary_kind(body: bytes, content_type: str) -> str | None:
    """What binary content this is (for the reason), or None when it may be text."""
    declared = media_type(content_type)
    if _BINARY_TYPES.match(declared) and not declared.endswith(("+xml", "+json")):
        return declared
    head = body[:SNIFF_BYTES]
    for magic, label in _MAGIC:
        if head.startswith(magic):
            return label
    if head[4:8] == b"ftyp":
        return "an MP4/ISO media file"
    if _bom(head) or any(head.startswith(p) for p, _ in _UTF16_XML):
        return None
    charset = codec_name(_charset_param(content_type))
    if charset and charset.startswith(("utf_16", "utf_32")):
        return None
    if b"\x00" in head:
        return f"binary data ({declared or 'no content type'})"
    return None


def decode(body: bytes, content_type: str, *, source: str, origin: str) -> str:
    """The body as text; raises :class:`SourceError` naming ``origin`` for binary content."""
    kind = binary_kind(body, content_type)
    if kind is not None:
        raise SourceError(source, f"{origin} is binary content ({kind}), skipped")
    return decode_text(body, content_type)


def decode_text(body: bytes, content_type: str = "") -> str:
    """Decode with the charset rules of the module docstring; never raises."""
    return decode_text_as(body, content_type)[0]


def decode_text_as(body: bytes, content_type: str = "") -> tuple[str, str]:
    """:func:`decode_text`, and the codec it read the bytes with (a Python codec name
    as :func:`codec_name` spells it: ``utf_8``, ``cp1252``, ``utf_16_le`` ...)."""
    if not body:
        return "", "ascii"
    bom = _bom(body)
    if bom is not None:
        codec = "utf_8" if bom == "utf-8-sig" else bom.replace("-", "_")
        return body.decode(bom, errors="replace").removeprefix("\ufeff"), codec
    for prefix, encoding in _UTF16_XML:
        if body.startswith(prefix):
            return body.decode(encoding, errors="replace"), encoding.replace("-", "_")
    header = codec_name(_charset_param(content_type))
    if header and header.startswith(("utf_16", "utf_32")):
        return body.decode(header, errors="replace"), header
    if body.isascii():
        return body.decode("ascii"), "ascii"
    try:
        return body.decode("utf-8"), "utf_8"
    except UnicodeDecodeError:
        pass
    declared = [header, codec_name(_declared_in_document(body))]
    for encoding in dict.fromkeys(e for e in declared if e):
        try:
            return body.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return body.decode("cp1252", errors="replace"), "cp1252"
    # Short texts fit several single-byte encodings equally well; a tie goes to
    # windows-1252, the web's most common legacy encoding (and WHATWG's fallback).
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if any("cp1252" in m.could_be_from_charset for m in tied):
        try:
            return body.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), codec_name(best.encoding) or best.encoding


def media_type(content_type: str) -> str:
    """``text/html`` of ``Text/HTML; charset=UTF-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def _charset_param(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def _declared_in_document(body: bytes) -> str | None:
    match = _XML_DECLARATION.match(body[:SNIFF_BYTES]) or _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def codec_name(label: str | None) -> str | None:
    """Python's codec name for a charset label; None for labels it does not know."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None
    return "cp1252" if name in _AS_CP1252 else name


def _bom(body: bytes) -> str | None:
    for mark, encoding in _BOMS:
        if body.startswith(mark):
            return encoding
    return None
