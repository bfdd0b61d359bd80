"""The words of the email's chrome and of the subscriber pages, per language: gettext
catalogues, and dates in the language's own way (Babel's CLDR data).

The package ships ``digest/locales/<lang>/LC_MESSAGES/digest.po`` for every
supported language; English is the source text and needs none. A deployment adds a
language, or rewords one, with its own ``locales/<lang>/LC_MESSAGES/digest.po``
(``locales_dir`` in the config): its messages come first, the packaged catalogue of
the same language fills the gaps, then the tag's shorter forms ("pt-BR", then
"pt"), then English. Catalogues are compiled when first used, in memory, so a fresh
clone needs no build step and no ``.mo`` file is kept.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import Translations

from digest.errors import ConfigError
from digest.language.tags import ENGLISH, fallbacks, primary

PACKAGED = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "digest"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def N_(message: str) -> str:
    """Marks a message for the catalogues where it is defined; it is translated
    where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class Messages:
    """One language's messages and date formats."""

    language: str  # the BCP 47 tag asked for ("pt-BR")
    translations: gettext.NullTranslations
    locale: Locale

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def long_date(self, day: date | str) -> str:
        """The date as the email's date line writes it ("Friday, 27 November 2026",
        "viernes, 27 de noviembre de 2026"); an unreadable period as it is."""
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                return str(day)
        # Translators: how the email writes its date: "full" (the language's own long
        # date, as CLDR has it), "long", or a CLDR date pattern such as "EEEE d MMMM y".
        return format_date(day, self.gettext("EEEE, dd MMMM y"), locale=self.locale)

    def date_time(self, moment: datetime) -> str:
        """A moment in UTC, for a deadline ("09 December 2026, 15:00 UTC")."""
        # Translators: a CLDR pattern for a date and time in UTC ("'UTC'" stays as is).
        return format_datetime(moment, self.gettext("dd MMMM y, HH:mm 'UTC'"), locale=self.locale)


def languages(locales_dir: Path | None = None) -> frozenset[str]:
    """The tags with a catalogue, packaged or the deployment's, English included."""
    found = {ENGLISH}
    for folder in (PACKAGED, locales_dir):
        if folder is not None and folder.is_dir():
            found.update(
                path.parent.parent.name.replace("_", "-")
                for path in folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
            )
    return frozenset(found)


def has_catalogue(tag: str, locales_dir: Path | None = None) -> bool:
    """Whether ``tag`` (or a shorter form of it) has a catalogue, or is English."""
    known = {t.lower() for t in languages(locales_dir)}
    return primary(tag) == ENGLISH or any(t.lower() in known for t in fallbacks(tag))


@lru_cache(maxsize=64)
def messages(tag: str, locales_dir: Path | None = None) -> Messages:
    """The messages of ``tag``, the deployment's catalogue first (see the module
    docstring). Raises :class:`ConfigError` for a catalogue that cannot be read."""
    chain: list[gettext.NullTranslations] = []
    for candidate in fallbacks(tag):
        if primary(candidate) == ENGLISH and candidate.lower() == ENGLISH:
            break  # the source text
        for folder in (locales_dir, PACKAGED):
            path = _po_file(folder, candidate)
            if path is not None:
                chain.append(_compiled(path))
    found: gettext.NullTranslations = chain[0] if chain else gettext.NullTranslations()
    for fallback in chain[1:]:
        found.add_fallback(fallback)
    words = Messages(tag, found, _locale(tag))
    try:  # the date patterns are translations too: a bad one fails here, not in a send
        words.long_date(date(2000, 1, 1))
        words.date_time(datetime(2000, 1, 1, tzinfo=UTC))
    except (ValueError, KeyError, AttributeError) as exc:
        raise ConfigError(f"language {tag!r}: a date pattern is not valid: {exc}") from None
    return words


def _po_file(folder: Path | None, tag: str) -> Path | None:
    if folder is None:
        return None
    for name in dict.fromkeys((tag, tag.replace("-", "_"), tag.lower())):
        path = folder / name / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.is_file():
            return path
    return None


def placeholders(text: str) -> list[str]:
    """The ``%(name)s`` placeholders of a message, sorted: a translation has the same."""
    return sorted(_PLACEHOLDER.findall(text))


def _compiled(path: Path) -> Translations:
    """A ``.po`` file compiled in memory (fuzzy entries left out, as msgfmt does);
    a translation whose placeholders differ from its message's is refused, since it
    would fail when an email is rendered."""
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, domain=DOMAIN, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise ConfigError(f"cannot read the catalogue: {exc}", path=str(path)) from None
    for message in catalog:
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else message.string or []
        want = placeholders(str(ids[-1]))
        for string in strings:
            if string and placeholders(str(string)) != want:
                raise ConfigError(
                    f"the translation of {ids[0]!r} must use the placeholders "
                    f"{', '.join(want) or 'none'}, not {string!r}",
                    path=str(path),
                )
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _locale(tag: str) -> Locale:
    for candidate in fallbacks(tag):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(ENGLISH)
