"""Dates as feeds write them, in any of the usual languages and shapes.

feedparser reads English RFC 822 and ISO 8601 dates; it gives up on day and month
names in other languages ("Seg, 24 Set 2018 19:42:40 -0300", "Do, 7. Okt. 2018"), on
times without seconds, and it takes zone names it does not know ("CEST", "BRT") for
UTC. :func:`parse_date` reads those: the string is split into words, numbers, times
and offsets; words are looked up in fixed tables (built once, accents and case
folded) of month and weekday names in English, Spanish, Portuguese, French, German,
Italian and Dutch and of common zone abbreviations; a leading weekday is dropped, and
so are the little words of long forms ("24 de setembro de 2018", "am 7. Oktober").

- A date without a zone is UTC; an unknown zone name after the time is ignored
  (UTC too), as :mod:`email.utils` does.
- Two-digit years follow :mod:`email.utils`: 69-99 are 19xx, 00-68 are 20xx.
- ISO 8601 and ``24.09.2018``-style numeric dates (day first) are read too.
- Anything else (a word that is no month, weekday or zone, no day, month or year, a
  day that does not exist) is ``None``: the caller decides what an unreadable date
  means.

About 100 times faster than dateparser on the same strings (``bench_collect``
measures it).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

# Month names and abbreviations (accents folded, lower case, no trailing dot).
_MONTH_NAMES = {
    1: "jan january ene enero janeiro janv janvier januar janner jaenner gen gennaio januari",
    2: "feb february febrero fev fevereiro fevr fevrier februar febbraio februari",
    3: "mar march marzo marco mars marz maerz mrz mrt maart",
    4: "apr april abr abril avr avril aprile",
    5: "may mayo mai maio mag maggio mei",
    6: "jun june junio junho juin juni giu giugno",
    7: "jul july julio julho juil juillet juli lug luglio",
    8: "aug august ago agosto aout augustus",
    9: "sep sept september septiembre setiembre set setembro septembre settembre",
    10: "oct october octubre out outubro octobre okt oktober ott ottobre",
    11: "nov november noviembre novembro novembre",
    12: "dec december dic diciembre dez dezembro decembre dezember dicembre",
}
MONTHS: dict[str, int] = {
    name: month for month, names in _MONTH_NAMES.items() for name in names.split()
}


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


WEEKDAYS = _words(
    # en
    "mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday thursday"
    " friday saturday sunday",
    # es
    "lun mar mie jue vie sab dom lunes martes miercoles jueves viernes sabado domingo",
    # pt (segunda-feira: the hyphen splits it)
    "seg ter qua qui sex segunda terca quarta quinta sexta feira",
    # fr
    "mer jeu ven sam dim lundi mardi mercredi jeudi vendredi samedi dimanche",
    # de
    "mo di mi do fr sa so die mit don fre son montag dienstag mittwoch donnerstag"
    " freitag samstag sonnabend sonntag",
    # it
    "gio lunedi martedi mercoledi giovedi venerdi sabato domenica",
    # nl
    "ma wo vr za zo maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
)
# Words of long forms: "24 de setembro de 2018", "am 7. Oktober", "le 7 juin à 10h".
_FILLERS = _words("de del do da le la el den der am um a o at on the of st nd rd th er")
# Zone abbreviations feeds use, as hours east of UTC. Ambiguous ones (IST) are left out.
_ZONE_HOURS = (
    "ut=0 utc=0 gmt=0 z=0 wet=0 est=-5 edt=-4 cst=-6 cdt=-5 mst=-7 mdt=-6 pst=-8 pdt=-7"
    " akst=-9 akdt=-8 hst=-10 ast=-4 adt=-3 nst=-3.5 ndt=-2.5 bst=1 west=1 cet=1 met=1"
    " mez=1 cest=2 mest=2 mesz=2 eet=2 eest=3 msk=3 brt=-3 brst=-2 art=-3 clt=-4 clst=-3"
    " jst=9 kst=9 hkt=8 sgt=8 awst=8 acst=9.5 acdt=10.5 aest=10 aedt=11 nzst=12 nzdt=13"
)
ZONES: dict[str, float] = {
    name: float(hours) for name, _, hours in (z.partition("=") for z in _ZONE_HOURS.split())
}
# Zones feedparser reads itself; a date naming any other is read here first.
FEEDPARSER_ZONES = _words("ut utc gmt z est edt cst cdt mst mdt pst pdt ast adt")

_TOKEN = re.compile(
    r"(?P<time>\d{1,2}(?::\d{2}){1,2}(?:[.,]\d+)?|\d{1,2}h\d{2})"
    r"|(?P<offset>[+-]\d{2}:?\d{2}(?![\d:]))"
    r"|(?P<number>\d+)"
    r"|(?P<word>[^\W\d_]+)"
)
_NUMERIC = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\b(.*)")
MAX_LENGTH = 200


def fold(text: str) -> str:
    """Lower case without accents: "Mär" -> "mar", "Février" -> "fevrier"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


def parse_date(text: str) -> datetime | None:
    """The moment ``text`` names, timezone-aware in UTC; None when it cannot be read."""
    if not text or len(text) > MAX_LENGTH:
        return None
    folded = fold(text.strip())
    iso = _iso(folded)
    if iso is not None:
        return iso
    numeric = _NUMERIC.match(folded)
    if numeric:
        day, month, year, rest = numeric.groups()
        folded = f"{day} {_month_word(int(month))} {year}{rest}"
    return _from_tokens(folded)


def names_unknown_zone(text: str) -> bool:
    """Whether ``text`` ends with a zone name feedparser does not know (it reads those
    as UTC): then :func:`parse_date` is the better reader."""
    words = re.findall(r"[a-z]+", text[-8:].lower())
    return bool(words) and words[-1] in ZONES and words[-1] not in FEEDPARSER_ZONES


def _iso(folded: str) -> datetime | None:
    if not (len(folded) >= 10 and folded[4] == "-" and folded[:4].isdigit()):
        return None
    try:
        parsed = datetime.fromisoformat(folded.upper().replace(" UTC", "+00:00"))
    except ValueError:
        return None
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:  # year 1 east of UTC
        return None


_ENGLISH_MONTHS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)


def _month_word(month: int) -> str:
    return _ENGLISH_MONTHS[month - 1] if 1 <= month <= 12 else "?"


def _from_tokens(folded: str) -> datetime | None:
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(folded)]
    months = [i for i, (kind, value) in enumerate(tokens) if kind == "word" and value in MONTHS]
    if len(months) > 1:  # "Mar, 25 Sep": a weekday that is also a month's abbreviation
        months = [i for i in months if tokens[i][1] not in WEEKDAYS] or months[-1:]
    if len(months) != 1:
        return None
    month = MONTHS[tokens[months[0]][1]]
    numbers: list[str] = []
    clock: str | None = None
    offset: float | None = None
    for i, (kind, value) in enumerate(tokens):
        if i == months[0]:
            continue
        if kind == "time" and clock is None:
            clock = value
        elif kind == "offset" and clock is not None and offset is None:
            offset = (1 if value[0] == "+" else -1) * (int(value[1:3]) + int(value[-2:]) / 60)
        elif kind == "offset":
            numbers.append(value.lstrip("+-").replace(":", ""))
        elif kind == "number":
            numbers.append(value)
        elif value in ZONES and clock is not None:
            offset = ZONES[value] if offset is None else offset
        elif value in ("am", "pm") and clock is not None:
            clock = _twelve_hour(clock, value)
        elif value not in WEEKDAYS and value not in _FILLERS and clock is None:
            return None  # a word no date has
    return _assemble(numbers, month, clock, offset)


def _twelve_hour(clock: str, half: str) -> str:
    hour, _, rest = clock.partition(":")
    h = int(hour) % 12 + (12 if half == "pm" else 0)
    return f"{h}:{rest}"


def _assemble(
    numbers: list[str], month: int, clock: str | None, offset: float | None
) -> datetime | None:
    day = year = None
    for number in numbers:
        if len(number) == 4 and year is None:
            year = int(number)
        elif len(number) <= 2 and day is None:
            day = int(number)
        elif len(number) <= 2 and year is None:
            year = int(number)
            year += 1900 if year > 68 else 2000
        else:
            return None
    if day is None or year is None:
        return None
    hour = minute = second = 0
    if clock:
        parts = re.split(r"[:h]", clock.split(".")[0].split(",")[0])
        hour, minute = int(parts[0]), int(parts[1])
        second = int(parts[2]) if len(parts) > 2 else 0
    try:
        zone = timezone(timedelta(hours=offset)) if offset else UTC
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 30 February, hour 25, an offset past a day
        return None
