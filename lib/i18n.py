"""English / 简体中文 text for every user-facing string: pages, charts, messages, exports.

Why: the product is bilingual from the first line, and a language must be chosen
per browser session (a process-wide gettext would leak one user's language to
everyone). Catalogs live in ``lib/locales/<area>.json``, each file holding
``{"en": {...}, "zh": {...}}`` so that every area (core, segments, timeline, …)
owns its own file. ``t(key, lang, **values)`` formats a string; a missing key is
an error in tests (see tests/test_i18n.py) and shows the key itself at run time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

Lang = Literal["en", "zh"]
LANGUAGES: tuple[Lang, ...] = ("en", "zh")
DEFAULT_LANG: Lang = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


@lru_cache(maxsize=1)
def catalogs() -> dict[str, dict[str, str]]:
    """Every catalog merged: ``{"en": {key: text}, "zh": {key: text}}``.

    Raises ValueError if two files define the same key, so areas cannot
    silently overwrite each other.
    """
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    origin: dict[str, str] = {}
    for path in sorted(LOCALES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for lang in LANGUAGES:
            for key, text in data.get(lang, {}).items():
                if key in merged[lang]:
                    raise ValueError(f"i18n key {key!r} is defined in {origin[key]} and {path.name}")
                merged[lang][key] = text
                origin[key] = path.name
    return merged


def normalize_lang(value: object) -> Lang:
    """Map anything (``"zh-CN"``, ``"ZH"``, ``None``) to a supported language."""
    text = str(value or "").strip().lower()
    if text.startswith("zh") or text in {"cn", "中文"}:
        return "zh"
    return "en"


def t(key: str, lang: str = DEFAULT_LANG, /, **values: object) -> str:
    """The text for ``key`` in ``lang``, formatted with ``values``.

    Falls back to English, then to the key itself, so a missing translation is
    visible rather than fatal; the catalog tests make sure that never ships.
    """
    cats = catalogs()
    language = normalize_lang(lang)
    text = cats[language].get(key) or cats[DEFAULT_LANG].get(key) or key
    if "{cur}" in text and "cur" not in values:  # money in a sentence: the dataset's currency symbol
        from lib.formatting import currency_symbol

        values = {**values, "cur": currency_symbol()}
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def has_key(key: str) -> bool:
    cats = catalogs()
    return all(key in cats[lang] for lang in LANGUAGES)


class Translator:
    """``t`` bound to one language, handy for exports and chart builders."""

    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        self.lang: Lang = normalize_lang(lang)

    def __call__(self, key: str, /, **values: object) -> str:
        return t(key, self.lang, **values)


def display_channel(name: str, lang: str = DEFAULT_LANG) -> str:
    """A channel's name for display: known Chinese platform names get an English name in English."""
    key = f"channel_name.{name}"
    text = catalogs()[normalize_lang(lang)].get(key)
    return text or name


class LocalizedError(ValueError):
    """An error that explains itself in either language: an i18n ``key`` and its ``values``.

    Pages show ``message(lang)``; the CLI prints it; ``str(error)`` is the English text.
    """

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        return t(self.key, lang, **self.values)
