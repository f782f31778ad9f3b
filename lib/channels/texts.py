"""The marketing-mix model's warnings in plain words, in English and Simplified Chinese.

Why a module of its own: the model and its plans report warnings as codes with parameters
(``MmmFit.warnings``, ``PlanForecast.warnings``) so that numbers stay numbers until a page, the
CLI or the review pack renders them in the reader's language with ``explain_warning``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lib.i18n import normalize_lang

WARNING_TEXT: dict[str, dict[str, str]] = {
    "mmm.collinear": {
        "en": "The spends of {channels} moved together (correlation {corr}), so the data cannot tell their effects "
              "apart. Read their combined effect; each one's share is split by spend, not measured.",
        "zh": "{channels} 的投放金额同涨同跌（相关系数 {corr}），数据无法区分各自的效果。请看它们的合计效果；"
              "单个渠道的份额按花费比例分摊，并非测量结果。",
    },
    "mmm.vif": {
        "en": "{channel} overlaps strongly with the other channels and the baseline (variance inflation {vif}); "
              "its estimate is unstable.",
        "zh": "{channel} 与其他渠道及基线高度重叠（方差膨胀因子 {vif}），其估计不稳定。",
    },
    "mmm.wide_interval": {
        "en": "{channel}: the data allow anything from {low} to {high} (estimate {contribution}); the interval is "
              "wider than the estimate itself, so treat the figure as a rough guide.",
        "zh": "{channel}：数据允许的范围是 {low} 到 {high}（估计值 {contribution}），区间比估计值本身还宽，"
              "请仅作粗略参考。",
    },
    "mmm.no_effect": {
        "en": "{channel}: no effect could be detected in this history.",
        "zh": "{channel}：在这段历史数据中未能检测到效果。",
    },
    "mmm.no_spend": {
        "en": "{channel} has no spend in this history, so its effect cannot be measured.",
        "zh": "{channel} 在这段历史中没有花费，无法测量其效果。",
    },
    "mmm.flat_spend": {
        "en": "{channel} spent in only {weeks} weeks or barely varied (variation {cv}); its curve is mostly a guess.",
        "zh": "{channel} 仅在 {weeks} 周有花费或几乎没有变化（变异系数 {cv}），其曲线主要是推测。",
    },
    "mmm.short_history": {
        "en": "Only {weeks} weeks of history: yearly seasonality is simplified, so the baseline is less certain.",
        "zh": "历史数据只有 {weeks} 周：年度季节性被简化，基线的不确定性更大。",
    },
    "mmm.weak_fit": {
        "en": "The model explains little of the weekly ups and downs (R² {r2}); every figure is uncertain.",
        "zh": "模型只解释了每周波动的一小部分（R² {r2}），所有数字的不确定性都较大。",
    },
    "mmm.extrapolation": {
        "en": "{channel}: the plan spends {ratio}× the highest week ever observed; beyond the data the curve is a "
              "guess.",
        "zh": "{channel}：计划花费是历史最高周的 {ratio} 倍；超出数据范围的曲线只是推测。",
    },
    "mmm.unseen_channel": {
        "en": "{channel} was never spent on in this history, so the plan counts no effect for it.",
        "zh": "{channel} 在这段历史中从未投放过，计划中不计算它的效果。",
    },
    "mmm.bounds_relaxed": {
        "en": "The budget does not fit within twice the highest observed weekly spends; the limits were "
              "raised {factor}×, so part of the plan is beyond the data.",
        "zh": "预算超出了历史最高周花费两倍的上限；上限已提高 {factor} 倍，计划中部分花费超出数据范围。",
    },
}


def _fmt_number(value: Any, lang: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    v = float(value)
    if not math.isfinite(v):
        return "∞" if v > 0 else "—"
    a = abs(v)
    if lang == "zh":
        if a >= 1e8:
            return f"{v / 1e8:,.2f}亿"
        if a >= 1e4:
            return f"{v / 1e4:,.1f}万"
    elif a >= 1e6:
        return f"{v / 1e6:,.2f}M"
    elif a >= 1e4:
        return f"{v / 1e3:,.1f}K"
    return f"{v:,.0f}" if a >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


def explain_warning(code: str, params: Mapping[str, Any], lang: str = "en") -> str:
    """A warning code and its parameters in plain words, in English (``en``) or Simplified Chinese (``zh``)."""
    language = normalize_lang(lang)
    texts = WARNING_TEXT.get(code)
    if texts is None:
        return code
    sep = "、" if language == "zh" else ", "
    values = {k: sep.join(map(str, v)) if isinstance(v, (list, tuple)) else _fmt_number(v, language)
              for k, v in params.items()}
    return texts[language].format(**values)


