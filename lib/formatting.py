"""Number formatting the way each language reads money, counts and shares.

Why: the same KPI appears on cards, in charts, in headlines and in exports; one
module keeps "¥1,234,567" (English) and "¥123.5万" (Chinese) consistent everywhere.

Money is in the dataset's currency (¥, $, £, €…, chosen on the Data page). The
currency is the one piece of context every number formatter needs but no caller
should pass by hand: ``use_currency`` sets it for a block (the review pack, an
export, a CLI command) and ``set_currency`` for the rest of a page run; the
default is CNY.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from lib.i18n import normalize_lang

DEFAULT_CURRENCY = "CNY"
# ISO 4217 code → the symbol shown before amounts. JPY and KRW have no minor unit.
CURRENCIES: dict[str, str] = {
    "CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "TWD": "NT$", "JPY": "¥", "KRW": "₩",
    "SGD": "S$", "AUD": "A$", "CAD": "C$", "MYR": "RM", "THB": "฿",
}
WHOLE_UNIT_CURRENCIES = frozenset({"JPY", "KRW"})
_current_currency: ContextVar[str] = ContextVar("currency", default=DEFAULT_CURRENCY)


def normalize_currency(code: object) -> str:
    """An ISO code we can show ("usd" → "USD"); anything unknown → CNY."""
    text = str(code or "").strip().upper()
    return text if text in CURRENCIES else DEFAULT_CURRENCY


def current_currency() -> str:
    return _current_currency.get()


def currency_symbol(code: str | None = None) -> str:
    """The symbol of ``code``, or of the currency in use."""
    return CURRENCIES[normalize_currency(code or _current_currency.get())]


def set_currency(code: object) -> None:
    """Use ``code`` for the rest of this thread's work (a page run sets its dataset's currency first)."""
    _current_currency.set(normalize_currency(code))


@contextmanager
def use_currency(code: object) -> Iterator[str]:
    """Format money in ``code`` inside the block (an export or the review pack for one dataset)."""
    token = _current_currency.set(normalize_currency(code))
    try:
        yield _current_currency.get()
    finally:
        _current_currency.reset(token)


def guess_currency(samples: Iterable[object] | None) -> str | None:
    """The currency a file's amount texts are written in ("$1,234.50", "£12", "€ 3,00", "¥88"), if one dominates."""
    marks = {"$": "USD", "US$": "USD", "£": "GBP", "€": "EUR", "¥": "CNY", "￥": "CNY", "元": "CNY", "HK$": "HKD",
             "NT$": "TWD", "₩": "KRW", "RMB": "CNY", "CNY": "CNY", "USD": "USD", "EUR": "EUR", "GBP": "GBP"}
    votes: dict[str, int] = {}
    for value in samples or ():
        if not isinstance(value, str):
            continue
        text = value.upper()
        for mark in sorted(marks, key=len, reverse=True):
            if mark in text:
                votes[marks[mark]] = votes.get(marks[mark], 0) + 1
                break
    if not votes:
        return None
    best = max(votes, key=votes.__getitem__)
    return best if votes[best] * 2 > sum(votes.values()) else None


#: Currencies whose symbol one of Streamlit's Intl-based column presets shows (CNY and JPY share "¥").
_COLUMN_PRESETS = {"CNY": "yen", "JPY": "yen", "USD": "dollar", "EUR": "euro"}


def money_column_options(decimals: int = 2) -> dict[str, Any]:
    """A table column's number format for amounts: symbol, thousands separators, fixed decimals.

    Streamlit's printf formats put a negative sign after the symbol ("¥-103,104"), so the
    currencies its Intl presets cover get the preset ("-¥103,104", the precision set by
    ``step``); the others keep the printf format.
    """
    code = current_currency()
    if code in WHOLE_UNIT_CURRENCIES:
        decimals = 0
    preset = _COLUMN_PRESETS.get(code)
    if preset is not None:
        return {"format": preset, "step": 10.0 ** -decimals}
    return {"format": f"{currency_symbol()}%,.{decimals}f"}


def _is_missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def money(value: float | int | None, lang: str = "en", *, decimals: int | None = None, symbol: str | None = None) -> str:
    """Money in the current currency with thousands separators in English; 万/亿 in Chinese once it reads better."""
    if _is_missing(value):
        return "—"
    symbol = currency_symbol() if symbol is None else symbol
    v = float(value)  # type: ignore[arg-type]
    sign = "-" if v < 0 else ""
    a = abs(v)
    if normalize_lang(lang) == "zh":
        if a >= 1e8:
            return f"{sign}{symbol}{a / 1e8:,.2f}亿"
        if a >= 1e4:
            return f"{sign}{symbol}{a / 1e4:,.1f}万"
    if decimals is None:
        decimals = 0 if a >= 100 or current_currency() in WHOLE_UNIT_CURRENCIES else 2
    return f"{sign}{symbol}{a:,.{decimals}f}"


def money_compact(value: float | int | None, lang: str = "en", *, symbol: str | None = None) -> str:
    """Money short enough for a KPI card: ¥5.67M / ¥12.3K in English, ¥566.5万 / ¥1.23亿 in Chinese."""
    if _is_missing(value):
        return "—"
    symbol = currency_symbol() if symbol is None else symbol
    v = float(value)  # type: ignore[arg-type]
    if normalize_lang(lang) == "zh":
        return money(v, lang, symbol=symbol)
    sign = "-" if v < 0 else ""
    a = abs(v)
    for threshold, size, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K")):
        if a >= threshold:
            scaled = a / size
            digits = 2 if scaled < 10 else 1
            return f"{sign}{symbol}{scaled:,.{digits}f}{suffix}"
    return money(v, lang, symbol=symbol)


def count(value: float | int | None, lang: str = "en") -> str:
    """A whole number with separators (万 for large counts in Chinese)."""
    if _is_missing(value):
        return "—"
    v = float(value)  # type: ignore[arg-type]
    if normalize_lang(lang) == "zh" and abs(v) >= 1e5:
        return f"{v / 1e4:,.1f}万"
    return f"{v:,.0f}"


def pct(value: float | None, *, decimals: int = 1, signed: bool = False) -> str:
    """A share (0.123) as a percentage ("12.3%"; "1,044.3%" with thousands separators)."""
    if _is_missing(value):
        return "—"
    fmt = f"{{:{'+' if signed else ''},.{decimals}f}}%"
    return fmt.format(float(value) * 100)  # type: ignore[arg-type]


def points(value: float | None, lang: str = "en", *, decimals: int = 1) -> str:
    """A difference of two shares in percentage points ("+5.0 pts" / "+5.0个百分点")."""
    if _is_missing(value):
        return "—"
    unit = "个百分点" if normalize_lang(lang) == "zh" else " pts"
    return f"{float(value) * 100:+,.{decimals}f}{unit}"  # type: ignore[arg-type]


def ratio(value: float | None, *, decimals: int = 2) -> str:
    """A multiple such as ROAS or LTV/CAC ("3.25×")."""
    if _is_missing(value):
        return "—"
    return f"{float(value):.{decimals}f}×"  # type: ignore[arg-type]


#: The kinds :func:`by_kind` writes as numbers.
NUMBER_KINDS: tuple[str, ...] = ("money", "count", "percent", "points", "ratio", "number")


def by_kind(value: object, kind: str, lang: str = "en") -> str:
    """A value written as its kind reads: ``money``, ``count``, ``percent``, ``points``, ``ratio``, ``number``
    (one decimal, separators), anything else as text; missing values as "—". The kinds are those of
    :attr:`lib.metrics.Metric.format_kind` and of the review pack's tables."""
    if value is None:
        return "—"
    if kind in NUMBER_KINDS:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):  # pd.NA, text in a number column: nothing to show
            return "—"
        if _is_missing(number):
            return "—"
        if kind == "money":
            return money(number, lang)
        if kind == "count":
            return count(number, lang)
        if kind == "percent":
            return pct(number)
        if kind == "points":
            return points(number, lang)
        if kind == "ratio":
            return ratio(number)
        return f"{number:,.1f}"
    return str(value)

