"""Column mapping: which file column is which field, detected from Chinese and English headers.

Why a module of its own: the mapping is the seam between a file and the importer — the
Data page shows and edits it, the workspace saves it per header (``source_key``), the
CLI loads it from a JSON file. It reads nothing and parses nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lib.importing.reading import ImportFailed, Kind, normalize_header



# --------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------

ORDER_FIELDS: tuple[str, ...] = (
    "order_id", "customer_id", "order_time", "amount", "quantity", "unit_price", "channel", "status",
    "original_order_id",
)
ORDER_REQUIRED: tuple[str, ...] = ("order_time",)
CHANNEL_FIELDS: tuple[str, ...] = (
    "period", "channel", "spend", "impressions", "clicks", "new_customers", "orders", "revenue",
)
CHANNEL_MEASURES: tuple[str, ...] = ("spend", "impressions", "clicks", "new_customers", "orders", "revenue")

_SYNONYMS: dict[str, list[str]] = {
    "order_id": ["订单号", "订单编号", "订单id", "主订单编号", "子订单编号", "order id", "orderid", "order_id",
                 "order number", "order no", "invoiceno", "invoice", "invoice no", "transaction id", "交易号"],
    "customer_id": ["买家id", "用户id", "会员id", "客户id", "买家会员名", "买家昵称", "会员号", "customer id",
                    "customerid", "customer_id", "customer", "user id", "userid", "user_id", "buyer id", "member id",
                    "client id", "客户编号", "用户名"],
    "order_time": ["下单时间", "付款时间", "支付时间", "订单创建时间", "创建时间", "成交时间", "订单日期", "日期",
                   "order time", "order date", "orderdate", "invoicedate", "invoice date", "date", "created at",
                   "created_at", "paid at", "payment time", "timestamp", "time", "order_ts"],
    "amount": ["实付金额", "订单金额", "支付金额", "买家实付金额", "实收金额", "成交金额", "销售额", "金额", "总金额",
               "amount", "order amount", "total", "total amount", "revenue", "sales", "paid amount",
               "dollar_value", "value", "gmv", "price total"],
    "quantity": ["数量", "商品数量", "购买数量", "件数", "quantity", "qty", "number_of_cds", "units", "items"],
    "unit_price": ["单价", "商品单价", "价格", "unit price", "unitprice", "price", "unit_price"],
    "channel": ["渠道", "来源", "流量来源", "订单来源", "店铺", "平台", "channel", "source", "utm_source",
                "platform", "store", "medium"],
    "status": ["订单状态", "状态", "交易状态", "退款状态", "status", "order status", "state"],
    "original_order_id": ["原订单号", "原订单编号", "关联订单号", "退款订单号", "original order id",
                          "original_order_id", "original order", "parent order id", "refund of", "refers to order"],
}
_CHANNEL_SYNONYMS: dict[str, list[str]] = {
    "period": ["周", "日期", "时间", "周次", "week", "date", "week_start", "period", "day", "week start", "time"],
    "channel": ["渠道", "平台", "媒体", "来源", "channel", "media", "platform", "source"],
    "spend": ["花费", "消耗", "投放金额", "费用", "成本", "spend", "cost", "media spend", "budget"],
    "impressions": ["曝光", "曝光量", "展现", "展现量", "impressions", "imps", "views"],
    "clicks": ["点击", "点击量", "clicks"],
    "new_customers": ["新客", "新客数", "新用户", "新客户", "new customers", "new_customers", "new users",
                      "acquisitions", "conversions"],
    "orders": ["订单", "订单数", "成交订单", "orders", "purchases"],
    "revenue": ["销售额", "成交额", "gmv", "revenue", "sales"],
}
# Suffixes that mark a wide-format column as one measure of one channel.
_WIDE_SUFFIXES: dict[str, list[str]] = {
    "spend": ["spend", "cost", "s", "花费", "消耗", "费用"],
    "impressions": ["impressions", "impression", "imps", "i", "曝光", "展现"],
    "clicks": ["clicks", "clicks_p", "c", "点击"],
    "new_customers": ["new_customers", "newcustomers", "new", "新客", "新客数"],
    "orders": ["orders", "订单", "订单数"],
    "revenue": ["revenue", "sales", "gmv", "销售额"],
}


# A wide channel file's total outcome (one column for all channels) and what else moves it.
OUTCOME_KINDS: tuple[str, ...] = ("revenue", "conversions", "orders", "new_customers")
_OUTCOME_SYNONYMS: dict[str, list[str]] = {
    "revenue": ["revenue", "sales", "gmv", "total sales", "销售额", "成交金额", "成交额", "营业额", "营收"],
    "conversions": ["conversions", "conversion", "kpi", "转化", "转化数", "转化量"],
    "orders": ["orders", "order count", "订单数", "订单量"],
    "new_customers": ["new customers", "new_customers", "new users", "新客数", "新客", "新用户数"],
}
# In a long file (one row per period and channel) "revenue" is the channel's own; only an explicit total is the outcome.
_TOTAL_OUTCOME_SYNONYMS: list[str] = [
    "total revenue", "total sales", "total gmv", "total conversions", "total orders", "total new customers",
    "store revenue", "总销售额", "总成交额", "全店销售额", "总订单数", "总新客数", "总转化数",
]
_CONTROL_HINT = re.compile(
    r"(_b$|_control$|^organic|competitor|price|promo|event|holiday|festival|sentiment|newsletter|weather|"
    r"竞品|价格|促销|活动|节日|节假日|舆情|天气)",
    flags=re.IGNORECASE,
)


def _outcome_column(columns: list[str]) -> tuple[str, str] | None:
    """The total-outcome column and its kind: an exact header first (any kind), then one containing a synonym.

    Per-unit columns (``revenue_per_conversion``, 每单收入) are never the outcome.
    """
    candidates = [c for c in columns if not re.search(r"(^|[\s_])per([\s_]|$)|每", normalize_header(c).lower())]
    for exact in (True, False):
        for kind in OUTCOME_KINDS:
            keys = [_norm_key(k) for k in _OUTCOME_SYNONYMS[kind]]
            for column in candidates:
                norm = _norm_key(column)
                if (norm in keys) if exact else any(len(k) > 2 and k in norm for k in keys):
                    return column, kind
    return None


def _norm_key(text: str) -> str:
    return re.sub(r"[\s_\-\.()（）]+", "", normalize_header(text).lower())


def _match(columns: list[str], synonyms: list[str], taken: set[str]) -> str | None:
    keys = [_norm_key(s) for s in synonyms]
    normalized = {c: _norm_key(c) for c in columns if c not in taken}
    for key in keys:  # exact matches, in the synonyms' order of preference
        for column, norm in normalized.items():
            if norm == key:
                return column
    for key in keys:  # then a column that contains a synonym (e.g. "买家实付金额(元)")
        if len(key) < 2:
            continue
        for column, norm in normalized.items():
            if key in norm:
                return column
    return None


def suggest_mapping(columns: list[str], kind: Kind) -> dict[str, Any]:
    """Best-guess field → column mapping from common English and Chinese headers.

    For channel files without a channel column, columns shaped like
    ``douyin_spend`` / ``tv_S`` / ``抖音_花费`` are proposed as a wide layout.
    """
    taken: set[str] = set()
    mapping: dict[str, Any] = {}
    if kind == "orders":
        for field_name in ORDER_FIELDS:
            column = _match(columns, _SYNONYMS[field_name], taken)
            if column:
                mapping[field_name] = column
                taken.add(column)
        if "amount" in mapping and "unit_price" in mapping and mapping["amount"] == mapping["unit_price"]:
            del mapping["unit_price"]
        return mapping
    period = _match(columns, _CHANNEL_SYNONYMS["period"], taken)
    if period:
        mapping["period"] = period
        taken.add(period)
    channel = _match(columns, _CHANNEL_SYNONYMS["channel"], taken)
    wide = detect_wide_columns([c for c in columns if c not in taken])
    if channel in wide:
        channel = None  # "Channel0_spend" names a channel's measure, not a channel column (Meridian's layout)
    if channel or not wide:
        mapping["layout"] = "long"
        if channel:
            mapping["channel"] = channel
            taken.add(channel)
        total = _match(columns, _TOTAL_OUTCOME_SYNONYMS, taken)  # a total repeated on every channel row
        if total:
            found = _outcome_column([total])
            mapping["outcome"], mapping["outcome_kind"] = total, found[1] if found else "revenue"
            taken.add(total)
        for measure in CHANNEL_MEASURES:
            column = _match(columns, _CHANNEL_SYNONYMS[measure], taken)
            if column:
                mapping[measure] = column
                taken.add(column)
        if total:
            _suggest_controls(mapping, columns, taken)
    else:
        mapping["layout"] = "wide"
        mapping["wide_columns"] = wide
        taken.update(wide)
        found = _outcome_column([c for c in columns if c not in taken])
        if found:
            mapping["outcome"], mapping["outcome_kind"] = found
            taken.add(found[0])
        _suggest_controls(mapping, columns, taken)
    return mapping


def _suggest_controls(mapping: dict[str, Any], columns: list[str], taken: set[str]) -> None:
    """Columns named like things that move the outcome besides spend (price, promotion, events, …)."""
    controls = [c for c in columns if c not in taken and _CONTROL_HINT.search(normalize_header(c))]
    if controls:
        mapping["controls"] = controls


def detect_wide_columns(columns: list[str]) -> dict[str, list[str]]:
    """Columns named ``<channel><sep><measure>`` → {column: [channel, measure]}; only if some are spend."""
    found: dict[str, list[str]] = {}
    for column in columns:
        text = normalize_header(column)
        if text.lower().startswith("organic"):
            continue  # unpaid media (Meridian's Organic_…): a control, not a channel with spend
        match = re.match(r"^(.+?)[\s_\-·]+([^\s_\-·]+(?:_p)?)$", text, flags=re.IGNORECASE)
        if not match:
            continue
        channel, suffix = match.group(1), match.group(2).lower()
        if channel.lower().endswith("_clicks") or channel.lower().endswith(" clicks"):
            channel, suffix = channel[: -len("_clicks")], "clicks_p"
        for measure, suffixes in _WIDE_SUFFIXES.items():
            if suffix in suffixes:
                found[column] = [channel.strip(), measure]
                break
    if not any(m == "spend" for _, m in found.values()):
        return {}
    return found


def missing_required(mapping: dict[str, Any], kind: Kind) -> list[str]:
    """Fields the mapping must still provide before the file can be imported."""
    if kind == "orders":
        missing = [f for f in ORDER_REQUIRED if not mapping.get(f)]
        if not mapping.get("amount") and not (mapping.get("quantity") and mapping.get("unit_price")):
            missing.append("amount")
        return missing
    missing = [] if mapping.get("period") else ["period"]
    if mapping.get("layout") == "wide":
        if not any(m == "spend" for _, m in (mapping.get("wide_columns") or {}).values()):
            missing.append("spend")
        return missing
    for f in ("channel", "spend"):
        if not mapping.get(f):
            missing.append(f)
    return missing


def load_mapping_file(path: str | Path) -> dict[str, Any]:
    """A mapping saved as JSON (``{"order_id": "订单编号", ...}``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFailed("bad_mapping", f"The mapping file could not be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ImportFailed("bad_mapping", "The mapping file must hold a JSON object.")
    for key, value in data.items():
        if key == "layout":
            well_formed = value in ("long", "wide")
        elif key == "outcome_kind":
            well_formed = value in OUTCOME_KINDS
        elif key == "controls":
            well_formed = isinstance(value, list) and all(isinstance(c, str) for c in value)
        elif key == "wide_columns":
            well_formed = isinstance(value, dict) and all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[1] in CHANNEL_MEASURES
                for pair in value.values()
            )
        else:
            well_formed = value is None or isinstance(value, str)
        if not well_formed:
            raise ImportFailed(
                "bad_mapping",
                f"The mapping file's {key!r} entry is not valid: fields map to a column name, "
                'and "wide_columns" maps each column to [channel, measure].',
            )
    return data


def check_mapping(mapping: dict[str, Any], kind: Kind, columns: list[str]) -> None:
    """The mapping names every required field, and only columns the file has."""
    missing = missing_required(mapping, kind)
    if missing:
        raise ImportFailed(
            "missing_field", f"Map a column to: {', '.join(missing)}.", fields=", ".join(missing)
        )
    check_mapping_columns(mapping, columns)


def check_mapping_columns(mapping: dict[str, Any], columns: list[str]) -> None:
    """Every mapped column must exist in the file."""
    wanted = [v for k, v in mapping.items() if k not in ("layout", "wide_columns", "controls", "outcome_kind") and v]
    wanted += list((mapping.get("wide_columns") or {}).keys()) + list(mapping.get("controls") or [])
    absent = [c for c in wanted if c not in columns]
    if absent:
        raise ImportFailed(
            "missing_column",
            f"The file has no column named {', '.join(map(repr, absent))}.",
            columns=", ".join(absent),
        )


