"""One colour per tier, segment and channel, identical on every page, chart and export.

Why: a marketing lead learns "dormant is orange" once; every chart builder and
Excel fill reads its colours from here.
"""

from __future__ import annotations

# The plan's tier order: new, active, lapsing, dormant, high-value.
TIER_ORDER: tuple[str, ...] = ("new", "active", "lapsing", "dormant", "high_value")
TIER_COLORS: dict[str, str] = {
    "new": "#4C9BE8",
    "active": "#2CA58D",
    "lapsing": "#F2B134",
    "dormant": "#E4572E",
    "high_value": "#7B4FBF",
}

SEGMENT_ORDER: tuple[str, ...] = (
    "champions",
    "loyal_customers",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
)
SEGMENT_COLORS: dict[str, str] = {
    "champions": "#5B2A86",
    "loyal_customers": "#7B4FBF",
    "potential_loyalists": "#2CA58D",
    "new_customers": "#4C9BE8",
    "promising": "#8FC1F0",
    "need_attention": "#F2B134",
    "about_to_sleep": "#F5CD79",
    "at_risk": "#E4572E",
    "cant_lose_them": "#B3261E",
    "hibernating": "#9E9E9E",
    "lost": "#616161",
}

# Channels of the domain brief, keyed by the names Chinese exports use.
CHANNEL_COLORS: dict[str, str] = {
    "抖音": "#111111",
    "小红书": "#FF2442",
    "天猫": "#FF5000",
    "京东": "#C81623",
    "微信私域": "#07C160",
    "淘宝直播": "#FF9000",
    "知乎": "#0066FF",
    "B站": "#00A1D6",
    "线下门店": "#8D6E63",
}
_FALLBACK = (
    "#4C78A8", "#F58518", "#54A24B", "#B279A2", "#FF9DA6",
    "#9D755D", "#BAB0AC", "#EECA3B", "#72B7B2", "#E45756",
)


def channel_color(channel: str) -> str:
    """The colour of a channel; unknown channels get a stable colour from their name."""
    if channel in CHANNEL_COLORS:
        return CHANNEL_COLORS[channel]
    return _FALLBACK[sum(map(ord, channel)) % len(_FALLBACK)]


def channel_scale(channels: list[str]) -> tuple[list[str], list[str]]:
    """Domain and range for an Altair colour scale over these channels."""
    domain = list(dict.fromkeys(channels))
    return domain, [channel_color(c) for c in domain]

# A legend for light-vs-dark bars (opacity) whose bars take their colour from another
# field: the swatches are drawn in the accent colour at the same two opacities, never
# the grey and black Vega would draw.
ACCENT = "#E4572E"
OPACITY_LEGEND: dict[str, object] = {"symbolType": "square", "symbolFillColor": ACCENT, "symbolStrokeColor": ACCENT,
                                     "labelLimit": 0}


def ink_on_sequential(value: float, highest: float, *, dark_from: float = 0.5) -> str:
    """Text colour on a cell of a light-to-dark sequential scheme (oranges, greens): white on the darker
    half, near-black on the lighter — relative to the largest value, so it holds for any data size."""
    return "#FFFFFF" if highest > 0 and value > dark_from * highest else "#222222"


def _luminance(hex_color: str) -> float:
    """WCAG relative luminance of ``#RRGGBB``."""
    value = hex_color.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#RRGGBB`` colours (1 = none, 21 = black on white)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


DARK_TEXT = "#1A1A1A"
LIGHT_TEXT = "#FFFFFF"


def text_on(fill: str) -> str:
    """Dark text on a light fill, white text on a dark one (whichever contrasts more)."""
    return LIGHT_TEXT if contrast_ratio(LIGHT_TEXT, fill) >= contrast_ratio(DARK_TEXT, fill) else DARK_TEXT


def readable_on(color: str, background: str = "#FFFFFF", minimum: float = 4.5) -> str:
    """``color`` darkened just enough (towards black) to be read as text on ``background`` (WCAG AA: 4.5:1)."""
    value = color.lstrip("#")
    rgb = [int(value[i : i + 2], 16) for i in (0, 2, 4)]
    candidate = "#" + value.upper()
    for step in range(21):
        keep = 1 - step / 20
        candidate = "#" + "".join(f"{round(c * keep):02X}" for c in rgb)
        if contrast_ratio(candidate, background) >= minimum:
            return candidate
    return candidate
