"""The lenient pre-pass over an OPML file: the errors real exports contain, repaired
as text before the strict parser (:mod:`digest.sources.opml`) reads it.

Repaired, each kind reported once per file with the line it first occurs on: a
UTF-8 byte-order mark; an encoding declaration the bytes do not fit (or none, for bytes
that are not UTF-8), read with the charset rules of :mod:`digest.sources.decoding`;
a bare ``&`` (``?page=backend&lang=en``), read as ``&amp;``; an HTML named entity
(``&nbsp;``, ``&eacute;``), read as the character it names; a control character
XML does not allow, or a character reference to one, read as a space; an XML declaration
after blank lines; ``<outline>`` attributes in unusual case (``xmlurl``), which the
reader takes in any case.

Refused before anything else: a DOCTYPE other than a bare ``<!DOCTYPE opml>``
(entity declarations, an external DTD), so that no repair can ever turn a
declared entity into text. Nothing here adds or removes a line break, so a line
named here or by the parser is the line of the file; :meth:`Repaired.column` maps
the parser's column back to the file's.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from html.entities import html5

from digest.errors import ConfigError
from digest.sources.decoding import codec_name, decode_text_as

# Characters XML 1.0 does not allow anywhere, even escaped.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_UTF8_BOM = b"\xef\xbb\xbf"
_PREDEFINED = r"(?!(?:amp|lt|gt|quot|apos);)"  # the five entities XML knows: left alone
# Every alternative starts with "<", "&" or a forbidden character, which keeps the scan fast.
_MARKUP = re.compile(
    r"<(?:(?P<comment>!--.*?-->|!\[CDATA\[.*?\]\]>)"
    r"|(?P<declaration>\?xml(?=[\s?]).*?\?>)"
    r"|(?P<pi>\?.*?\?>)"
    r"|(?P<doctype>!DOCTYPE\b))"
    r"|&(?:(?P<ref>(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|"
    + _PREDEFINED
    + r"[A-Za-z][A-Za-z0-9]{0,31});)"
    r"|(?P<amp>" + _PREDEFINED + r"))"
    r"|(?P<control>" + FORBIDDEN_CHARACTERS.pattern + ")",
    re.DOTALL,
)
_BARE_DOCTYPE = re.compile(r"<!DOCTYPE\s+[A-Za-z_:][\w.:-]*\s*>")
_ENCODING = re.compile(r"""\bencoding\s*=\s*["']([^"']{1,40})["']""")
_OUTLINE = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>"
    r"|<(?:[\w.-]+:)?outline((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)",
    re.DOTALL | re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"""\s+([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
_ATTRIBUTE_NAMES = {
    name.lower(): name
    for name in ("xmlUrl", "htmlUrl", "text", "title", "type", "category", "language")
}


@dataclass(slots=True)
class Repaired:
    """The text for the strict parser (no XML declaration: it is decoded already),
    what was repaired, one line each, and where the text moved on each line."""

    text: str
    repairs: list[str] = field(default_factory=list)
    # line -> (column in the file where an edit ends, characters it added), in order
    edits: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def column(self, line: int, column: int) -> int:
        """The file's column for ``column`` (0-based) of ``line`` of :attr:`text`."""
        shift = 0
        for end, delta in self.edits.get(line, ()):
            if column < end + shift + delta:
                break
            shift += delta
        return column - shift


def repair(data: bytes, content_type: str = "", *, origin: str = "OPML") -> Repaired:
    """Decode ``data`` and repair what real exports get wrong (see the module
    docstring); raises :class:`ConfigError` for a DOCTYPE that is not bare."""
    text, codec = decode_text_as(data, content_type)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    scan = _Scan(text, origin)
    repaired = Repaired(_MARKUP.sub(scan.replace, text), edits=scan.edits)
    _note_attribute_case(repaired.text, scan)
    found = []
    if data.startswith(_UTF8_BOM):  # UTF-16 needs its mark; UTF-8 has no use for one
        found.append("line 1: UTF-8 byte-order mark removed")
    encoding = _encoding_repair(scan.declared, codec)
    if encoding:
        found.append(f"line {scan.declaration_line}: {encoding}")
    repaired.repairs = found + scan.report()
    return repaired


@dataclass(slots=True)
class _Found:
    line: int  # the first
    message: str
    count: int = 0


class _Scan:
    """One pass over the text: each match of :data:`_MARKUP` kept or replaced."""

    def __init__(self, text: str, origin: str) -> None:
        self.text, self.origin = text, origin
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.found: dict[str, _Found] = {}  # by kind of repair
        self.edits: dict[int, list[tuple[int, int]]] = {}
        self.declared: str | None = None
        self.declaration_line = 1

    def line(self, position: int) -> int:
        return bisect_right(self.starts, position)

    def note(self, kind: str, position: int, message: str) -> None:
        found = self.found.setdefault(kind, _Found(self.line(position), message))
        found.count += 1

    def report(self) -> list[str]:
        return [
            f"line {f.line}: {f.message}" + (f" (and {f.count - 1:,} more)" if f.count > 1 else "")
            for f in sorted(self.found.values(), key=lambda f: f.line)
        ]

    def edit(self, start: int, end: int, new: str) -> str:
        line = self.line(start)
        column = end - self.starts[line - 1]
        self.edits.setdefault(line, []).append((column, len(new) - (end - start)))
        return new

    def replace(self, match: re.Match[str]) -> str:
        kind, value, start = match.lastgroup, match.group(), match.start()
        if kind in ("comment", "pi"):
            return FORBIDDEN_CHARACTERS.sub(lambda m: self._control(m, start), value)
        if kind == "declaration":
            return self._declaration(match)
        if kind == "doctype":
            if _BARE_DOCTYPE.match(self.text, start):
                return value
            raise ConfigError(
                f"line {self.line(start)}: refused: its DOCTYPE declares XML entities or "
                "refers to an external DTD; OPML has no need for them",
                path=self.origin,
            )
        if kind == "ref":
            return self._reference(value, start)
        if kind == "amp":
            self.note("amp", start, "bare '&' read as '&amp;'")
            return self.edit(start, match.end(), "&amp;")
        return self._control(match, 0)

    def _control(self, match: re.Match[str], offset: int) -> str:
        start = offset + match.start()
        message = f"control character U+{ord(match.group()):04X} read as a space"
        self.note("control", start, message)
        return " "

    def _declaration(self, match: re.Match[str]) -> str:
        if self.text[: match.start()].strip():
            return match.group()  # not a declaration where it stands: the parser says so
        if match.start():
            self.note("late", match.start(), "XML declaration after blank lines ignored")
        encoding = _ENCODING.search(match.group())
        self.declared = encoding.group(1) if encoding else None
        self.declaration_line = self.line(match.start())
        newlines = "\n" * match.group().count("\n")
        return newlines if newlines else self.edit(match.start(), match.end(), "")

    def _reference(self, value: str, start: int) -> str:
        name = value[1:-1]
        if name.startswith("#"):
            number = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            if number > 0x10FFFF or 0xD800 <= number <= 0xDFFF or _forbidden(number):
                message = f"reference {value!r} to a character XML forbids read as a space"
                self.note("charref", start, message)
                return self.edit(start, start + len(value), " ")
            return value
        characters = html5.get(name + ";")
        if characters is None:
            self.note("amp", start, "bare '&' read as '&amp;'")
            return self.edit(start, start + 1, "&amp;") + value[1:]
        codes = " ".join(f"U+{ord(c):04X}" for c in characters)
        self.note("entity", start, f"HTML entity {value!r} read as {codes}")
        return self.edit(start, start + len(value), "".join(f"&#{ord(c)};" for c in characters))


def _forbidden(number: int) -> bool:
    return number == 0 or FORBIDDEN_CHARACTERS.match(chr(number)) is not None


def _note_attribute_case(text: str, scan: _Scan) -> None:
    """One repair for every ``<outline>`` attribute spelled in another case."""
    spellings: dict[str, str] = {}
    first, count = 0, 0
    for outline in _OUTLINE.finditer(text):
        for attribute in _ATTRIBUTE.finditer(outline.group(1) or ""):
            name = attribute.group(1)
            canonical = _ATTRIBUTE_NAMES.get(name.lower())
            if canonical is not None and name != canonical:
                first = first or outline.start() + 1
                spellings.setdefault(name, canonical)
                count += 1
    if spellings:
        shown = [f"{name!r} as {canonical!r}" for name, canonical in spellings.items()]
        names = ", ".join(shown[:6]) + (", ..." if len(shown) > 6 else "")
        line = text.count("\n", 0, first - 1) + 1
        scan.found["case"] = _Found(line, f"attributes read in any case: {names}", count)


def _encoding_repair(label: str | None, codec: str) -> str | None:
    """What reading the bytes as ``codec`` repaired, given the declared ``label``."""
    read_as = _display(codec)
    if label is None:
        if codec in ("ascii", "utf_8") or codec.startswith(("utf_16", "utf_32")):
            return None  # UTF-8 is XML's default; UTF-16 and 32 come with a mark
        return f"no encoding declared and the bytes are not UTF-8; read as {read_as}"
    declared = codec_name(label)
    if declared is None:
        return f"unknown encoding {label!r} declared; read as {read_as}"
    if codec.startswith(declared) or (codec == "ascii" and _ascii_compatible(declared)):
        return None
    return f"encoding declared as {label!r} does not fit the bytes; read as {read_as}"


def _ascii_compatible(codec: str) -> bool:
    try:
        return "<opml>".encode(codec) == b"<opml>"
    except (LookupError, UnicodeError):
        return False


def _display(codec: str) -> str:
    name = codecs.lookup(codec).name
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    return name.upper() if name.startswith("utf") else name
