"""Language tags: the primary language of a BCP 47 tag, the languages whose text
rules and catalogues ship with the package, and the language an article is read in."""

from __future__ import annotations

from functools import lru_cache

from digest.models import Article

# Languages with their own text rules (``digest.language.profiles``) and a packaged
# catalogue of the email's and pages' words (``digest/locales``).
SUPPORTED = ("en", "es", "pt", "fr", "de", "it")
ENGLISH = "en"


@lru_cache(maxsize=256)  # a handful of tags, asked for once per article and stage
def primary(tag: str | None) -> str | None:
    """The primary language subtag, lower-cased: "pt-BR" -> "pt", "EN_us" -> "en";
    None for no tag or one that does not start like a language."""
    if not tag:
        return None
    head = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return head if 2 <= len(head) <= 3 and head.isascii() and head.isalpha() else None


def fallbacks(tag: str) -> list[str]:
    """The tags to look for, most specific first: "pt-BR" -> ["pt-BR", "pt"]."""
    parts = tag.strip().replace("_", "-").split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def article_language(article: Article, default: str) -> str:
    """The primary language ``article`` is read in: its own tag (from its source, feed,
    page or the detector), else ``default`` (the edition's)."""
    return primary(article.language) or primary(default) or ENGLISH
