"""The words each supported language's text rules need, as data: abbreviations that
do not end a sentence, openers that lean on an earlier sentence, reporting verbs,
bylines, boilerplate, headline tags and teasers, the small words of outlets' names,
and words that never name a subject. Stop words come from a maintained list
(``digest.language.stopwords``); month and weekday names from Babel's CLDR data.

English holds exactly what the stages used before languages were told apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lexicon:
    """One language's words; the phrase fields are regular-expression alternatives."""

    abbreviations: frozenset[str]  # lower-case, without the final dot ("sra", "ee.uu")
    # First words that point back: pronouns, connectives, and where the subject may be
    # left out, a bare verb ("É o primeiro passo": it is).
    leaning: frozenset[str]
    reporting: str  # verbs after a bare surname: "said|told"
    byline: str  # "By"
    conjunction: str  # "and" between two bylined names
    junk: str  # boilerplate sentences: share, subscribe, photo credits
    tag_prefix: str  # "LIVE:", "WATCH:" before a headline
    tag_suffix: str  # "| Live updates" after it
    teaser: str  # clickbait phrasing
    site_words: frozenset[str]  # small words in outlets' names ("The", "of")
    not_labels: frozenset[str]  # words in every kind of story, never a subject
    # Counts that open a sentence bare when no noun follows ("Two voted for ...").
    counts: frozenset[str] = frozenset()
    # Abbreviations only before a number: "No. 1", "Nos. 3 and 4" (else "... said no.").
    numbered: frozenset[str] = frozenset()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MONTHS_EN = "january february march april may june july august september october november december"
_DAYS_EN = "monday tuesday wednesday thursday friday saturday sunday"

ENGLISH = Lexicon(
    abbreviations=_words(
        "mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres "
        "rev hon vs etc inc ltd co corp dept univ assn bros approx fig vol pp eds jan "
        "feb mar apr jun jul aug sep sept oct nov dec tue thu fri ave blvd rd e.g i.e "
        "u.s u.k u.n a.m p.m"
    ),
    leaning=_words(
        "he she they it his her their its this these those but and however also so yet "
        "meanwhile instead still then"
    ),
    reporting="said|says|told|added|noted|argued|wrote|warned|explained|insisted",
    byline="By",
    conjunction="and",
    junk=r"click here|sign up|subscribe|photo:|photograph:|picture:|image:|credit:|getty images|"
    r"all rights reserved|follow us|read more|^updated\b|^published\b",
    tag_prefix=r"live|watch|video|breaking|exclusive|opinion|analysis|update[ds]?|listen|photos?",
    tag_suffix=r"live(?: updates?| blog| coverage)?|as it happened|latest(?: news| updates)?"
    r"|video|photos|opinion|analysis|explained|podcast",
    teaser=r"you won'?t believe|here'?s (?:why|what|how)|what (?:we|you) (?:know|need to know)"
    r"|this is why|everything you need|things to know|find out|revealed",
    site_words=frozenset({"the", "of", "and", "&"}),
    not_labels=_words(
        "said says say told tells reported reports according reuters afp ap press agency news "
        "today yesterday week weeks year years month months day days time times "
        f"{_DAYS_EN} {_MONTHS_EN} new"
    ),
    counts=_words(
        "one two three four five six seven eight nine ten eleven twelve both dozens hundreds"
    ),
    numbered=_words("no nos"),
)

SPANISH = Lexicon(
    abbreviations=_words(
        "sr sra srta srs sres dr dra lic ing arq prof gral cnel tte sto sta ud uds vd "
        "vds núm nº pág págs art arts av avda c.p etc aprox tel dpto ee.uu p.ej a.c d.c "
        "ene feb abr jun jul ago sept oct nov dic"
    ),
    leaning=_words(
        "él ella ellos ellas ello su sus este esta estos estas esto ese esa esos esas "
        "eso pero y sin además también asimismo así entonces luego es fue era será está "
        "están"
    ),
    reporting="dijo|afirmó|declaró|señaló|añadió|agregó|explicó|aseguró|indicó|advirtió"
    "|subrayó|insistió|sostuvo",
    byline="Por",
    conjunction="y",
    junk=r"haga clic|pulse aquí|suscríb\w+|regístrate|síguenos|sigue leyendo|lee también|"
    r"leer más|foto:|fotografía:|imagen:|todos los derechos reservados|^actualizado\b|"
    r"^publicado\b",
    tag_prefix=r"en directo|en vivo|directo|vídeo|video|última hora|exclusiva|opinión|"
    r"análisis|fotos|galería",
    tag_suffix=r"en directo|en vivo|última hora|vídeo|video|fotos|opinión|análisis"
    r"|minuto a minuto",
    teaser=r"no creerás|esto es lo que|lo que (?:sabemos|hay que saber)"
    r"|todo lo que (?:debes|necesitas|hay que) saber|descubre",
    site_words=frozenset({"el", "la", "los", "las", "de", "del", "y"}),
    not_labels=_words(
        "dijo dice según afirmó informó hoy ayer semana semanas año años mes meses día "
        "días nuevo nueva efe agencia noticias"
    ),
    counts=_words("dos tres cuatro cinco seis siete ocho nueve diez ambos ambas"),
)

PORTUGUESE = Lexicon(
    abbreviations=_words(
        "sr sra srta srs dr dra drs prof profa eng gen cel ten av r n nº núm pág págs "
        "art etc aprox tel dept p.ex jan fev abr jun jul ago set out nov dez"
    ),
    leaning=_words(
        "ele ela eles elas seu sua seus suas este esta estes estas isto esse essa esses "
        "essas isso mas e porém contudo entretanto também além assim então é foi era "
        "será está estão"
    ),
    reporting="disse|afirmou|declarou|explicou|acrescentou|garantiu|alertou|ressaltou"
    "|destacou|informou|insistiu|avaliou",
    byline="Por",
    conjunction="e",
    junk=r"clique aqui|assine|inscreva-se|siga-nos|leia mais|leia também|continue lendo|"
    r"foto:|imagem:|todos os direitos reservados|^atualizado\b|^publicado\b",
    tag_prefix=r"ao vivo|vídeo|video|urgente|exclusivo|opinião|análise|fotos|galeria",
    tag_suffix=r"ao vivo|tempo real|vídeo|video|fotos|opinião|análise",
    teaser=r"você não vai acreditar|veja (?:o que|como|por que)|entenda|saiba (?:mais|tudo)"
    r"|o que se sabe|tudo o que você precisa saber",
    site_words=frozenset({"o", "a", "os", "as", "de", "do", "da", "dos", "das", "e"}),
    not_labels=_words(
        "disse diz segundo afirmou informou hoje ontem semana semanas ano anos mês "
        "meses dia dias novo nova agência notícias"
    ),
    counts=_words("dois duas três quatro cinco seis sete oito nove dez ambos ambas"),
)

FRENCH = Lexicon(
    abbreviations=_words(
        "m mm mme mmes mlle mlles dr pr me mgr st ste av bd etc env tél p.ex c.-à-d "
        "janv févr avr juil sept oct nov déc"
    ),
    leaning=_words(
        "il elle ils elles son sa ses leur leurs ce cette ces cela ceci mais et "
        "cependant toutefois pourtant aussi ensuite puis alors c"
    ),
    reporting="a déclaré|a dit|a affirmé|a expliqué|a ajouté|a souligné|a assuré|a averti"
    "|a estimé|déclare|affirme|explique|ajoute|souligne|estime",
    byline="Par",
    conjunction="et",
    junk=r"cliquez ici|abonnez-vous|inscrivez-vous|suivez-nous|lire la suite|lire aussi|"
    r"photo :|photo:|tous droits réservés|^mis à jour\b|^publié\b",
    tag_prefix=r"en direct|direct|vidéo|video|exclusif|info|opinion|analyse|tribune|photos",
    tag_suffix=r"en direct|vidéo|video|photos|analyse|tribune|ce qu'il faut savoir",
    teaser=r"vous n'allez pas croire|voici (?:pourquoi|comment|ce que)|ce qu'il faut savoir"
    r"|tout savoir|découvrez",
    site_words=frozenset({"le", "la", "les", "de", "du", "des", "et"}),
    not_labels=_words(
        "dit selon affirmé déclaré aujourd'hui hier semaine semaines an ans année "
        "années mois jour jours nouveau nouvelle afp agence"
    ),
    counts=_words("deux trois quatre cinq six sept huit neuf dix"),
)

GERMAN = Lexicon(
    abbreviations=_words(
        "hr fr dr prof nr str bzw usw z.b u.a d.h ca vgl evtl ggf inkl mio mrd tel jan "
        "feb febr mär apr jun jul aug sep sept okt nov dez"
    ),
    leaning=_words(
        "er sie es sein seine ihr ihre dies diese dieser dieses aber und doch jedoch "
        "auch dennoch zudem außerdem dann deshalb"
    ),
    reporting="sagte|sagt|erklärte|erklärt|betonte|betont|warnte|fügte|meinte|kritisierte",
    byline="Von",
    conjunction="und",
    junk=r"hier klicken|abonnieren|folgen sie uns|weiterlesen|mehr lesen|lesen sie auch|"
    r"foto:|bild:|alle rechte vorbehalten|^aktualisiert\b|^veröffentlicht\b",
    tag_prefix=r"live|liveticker|video|eilmeldung|exklusiv|meinung|analyse|kommentar|fotos",
    tag_suffix=r"im liveticker|liveticker|live-ticker|liveblog|video|fotos|kommentar|analyse",
    teaser=r"sie werden nicht glauben|das (?:müssen|sollten) sie wissen|was (?:wir|sie) wissen"
    r"|alles,? was sie wissen müssen",
    site_words=frozenset({"der", "die", "das", "und", "für"}),
    not_labels=_words(
        "sagte sagt laut erklärte heute gestern woche wochen jahr jahre jahren monat "
        "monate tag tage tagen neue neuen neuer dpa agentur"
    ),
    counts=_words("zwei drei vier fünf sechs sieben acht neun zehn beide"),
)

ITALIAN = Lexicon(
    abbreviations=_words(
        "sig sigg sig.ra dott dott.ssa prof avv ing on gen col arch geom sen pag pagg "
        "art ecc tel n nr ca gen feb mar apr mag giu lug ago set ott nov dic"
    ),
    leaning=_words(
        "lui lei loro esso essa suo sua suoi sue questo questa questi queste ciò ma e "
        "però tuttavia inoltre anche poi quindi allora è era fu sarà sono"
    ),
    reporting="ha detto|ha dichiarato|ha spiegato|ha aggiunto|ha affermato|ha sottolineato"
    "|ha ricordato|dice|spiega|afferma|aggiunge",
    byline="Di",
    conjunction="e",
    junk=r"clicca qui|iscriviti|abbonati|seguici|leggi anche|leggi di più|continua a leggere|"
    r"foto:|immagine:|tutti i diritti riservati|^aggiornato\b|^pubblicato\b",
    tag_prefix=r"in diretta|diretta|live|video|esclusiva|esclusivo|opinione|analisi|foto",
    tag_suffix=r"in diretta|diretta|live|video|foto|l'analisi|cosa sappiamo",
    teaser=r"non crederai|ecco (?:perché|come|cosa)|cosa sappiamo"
    r"|tutto quello che (?:c'è da|devi) sapere|scopri",
    site_words=frozenset({"il", "lo", "la", "i", "gli", "le", "di", "del", "della", "e"}),
    not_labels=_words(
        "detto secondo ha oggi ieri settimana settimane anno anni mese mesi giorno "
        "giorni nuovo nuova ansa agenzia"
    ),
    counts=_words("due tre quattro cinque sei sette otto nove dieci entrambi"),
)

LEXICONS = {
    "en": ENGLISH,
    "es": SPANISH,
    "pt": PORTUGUESE,
    "fr": FRENCH,
    "de": GERMAN,
    "it": ITALIAN,
}
