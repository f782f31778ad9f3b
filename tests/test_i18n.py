"""Both catalogs complete and consistent; formatting reads right in each language."""

from __future__ import annotations

import re
from pathlib import Path

from lib import formatting
from lib.i18n import Translator, catalogs, display_channel, normalize_lang, t

ROOT = Path(__file__).resolve().parent.parent


def test_every_key_exists_in_both_languages():
    cats = catalogs()
    missing_zh = sorted(set(cats["en"]) - set(cats["zh"]))
    missing_en = sorted(set(cats["zh"]) - set(cats["en"]))
    assert not missing_zh, f"keys without Chinese: {missing_zh[:20]}"
    assert not missing_en, f"keys without English: {missing_en[:20]}"


def test_no_empty_texts_and_placeholders_match():
    cats = catalogs()
    for key, en in cats["en"].items():
        zh = cats["zh"][key]
        assert en.strip() and zh.strip(), key
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh)), key


def test_chinese_texts_are_not_english_copies():
    cats = catalogs()
    same = [k for k, v in cats["en"].items() if v == cats["zh"][k]
            and re.search(r"[a-z]{4,}", re.sub(r"{\w+}", "", v)) and not k.startswith("channel_name.")]
    # Acronyms and product names (ROAS, LTV / CAC) may be identical; sentences may not.
    assert all(len(cats["en"][k].split()) <= 3 for k in same), same


def test_literal_keys_used_in_code_exist():
    """Every t("literal.key") in pages and lib resolves in the catalogs."""
    cats = catalogs()
    sources = list((ROOT / "pages").glob("*.py")) + list((ROOT / "lib").glob("*.py")) + [ROOT / "app.py"]
    pattern = re.compile(r"""\b(?:t|tr|ctx\.t)\(\s*"([a-z_][a-z0-9_]*(?:\.[a-zA-Z0-9_]+)+)"[,)]""")
    missing = set()
    for path in sources:
        for key in pattern.findall(path.read_text(encoding="utf-8")):
            if key not in cats["en"]:
                missing.add(f"{path.name}: {key}")
    assert not missing, sorted(missing)


def test_translation_formats_and_falls_back():
    assert t("data.done", "zh", count="3", unit="笔订单", name="天猫") == "已导入 3 笔订单到“天猫”。"
    assert t("no.such.key", "zh") == "no.such.key"
    assert Translator("zh-CN")("nav.overview") == "总览"
    assert normalize_lang("ZH") == "zh" and normalize_lang(None) == "en" and normalize_lang("en-US") == "en"


def test_channel_names_are_translated_for_english_readers():
    assert display_channel("抖音", "en") == "Douyin"
    assert display_channel("抖音", "zh") == "抖音"
    assert display_channel("tv", "en") == "tv"


def test_money_in_chinese_uses_wan_and_yi():
    assert formatting.money(1234567, "en") == "¥1,234,567"
    assert formatting.money(1234567, "zh") == "¥123.5万"
    assert formatting.money(321000000, "zh") == "¥3.21亿"
    assert formatting.money(12.5, "en") == "¥12.50"
    assert formatting.money(None) == "—"
    assert formatting.pct(0.1234) == "12.3%"
    assert formatting.points(0.05, "zh") == "+5.0个百分点"
    assert formatting.ratio(3.256) == "3.26×"


def test_compact_money_fits_a_kpi_card():
    assert formatting.money_compact(5665139, "en") == "¥5.67M"
    assert formatting.money_compact(12345, "en") == "¥12.3K"
    assert formatting.money_compact(999, "en") == "¥999"
    assert formatting.money_compact(5665139, "zh") == "¥566.5万"
