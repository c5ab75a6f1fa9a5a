"""The translation catalogs as the tests see them: a fresh extraction of the source, the compiled catalogs, and a
pseudo-locale (en_XA) in which every translated string is wrapped in ⟦…⟧, to find words nobody marked."""

import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parent.parent
POT = i18n.TRANSLATIONS / "messages.pot"
LANGUAGES = ("de", "es", "fr")
OPEN, CLOSE = "⟦", "⟧"
# An HTML tag or a %(name)s placeholder: kept as they are inside the pseudo-translation.
KEEP = re.compile(r"<[^>]+>|%\([a-z_]+\)s|%%|\{n\}")


def extracted() -> Catalog:
    """Every string marked in app/ and templates/, as `make messages` extracts it (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}
    keywords |= {"lazy_gettext": None, "npgettext": ((1, "c"), 2, 3)}
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords, comment_tags=("Translators:",))
    for _filename, _lineno, message, _comments, context in found:
        catalog.add(message, None, context=context)
    return catalog


def messages(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def key(message: Message) -> tuple[str, str | None]:
    ident = message.id if isinstance(message.id, str) else message.id[0]
    return ident, message.context


def po(language: str) -> Catalog:
    with (i18n.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=language)


def wrapped(text: str) -> str:
    """⟦Text⟧, placeholders and tags untouched and outside the wrapping words: "⟦Edit⟧<span>⟦ %(name)s⟧"."""
    parts, last = [], 0
    for match in KEEP.finditer(text):
        if text[last : match.start()].strip():
            parts.append(OPEN + text[last : match.start()] + CLOSE)
        else:
            parts.append(text[last : match.start()])
        parts.append(match.group())
        last = match.end()
    rest = text[last:]
    parts.append(OPEN + rest + CLOSE if rest.strip() else rest)
    return "".join(parts)


def build_pseudo() -> None:
    """The en_XA catalog, from the source itself (never shipped: .gitignore'd, and only the tests build it)."""
    catalog = Catalog(locale="en")
    for message in messages(extracted()):
        if isinstance(message.id, str):
            catalog.add(message.id, wrapped(message.id), context=message.context)
        else:
            catalog.add(message.id, tuple(wrapped(form) for form in message.id), context=message.context)
    folder = i18n.TRANSLATIONS / i18n.PSEUDO / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    i18n.translations.cache_clear()


def compile_all() -> None:
    """What `make translations` does, for a test run started without make: each .po into its .mo."""
    for language in LANGUAGES:
        catalog = po(language)
        with (i18n.TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("wb") as file:
            write_mo(file, catalog)
    i18n.translations.cache_clear()
