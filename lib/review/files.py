"""The review pack as files: the workbook and the deck side by side, for ``python -m lib.cli review-pack``.

Why a module of its own: the CLI needs file names and one gathering for both
files; the page downloads bytes and never touches the file system.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from lib.i18n import normalize_lang
from lib.review.deck import review_deck
from lib.review.workbook import build_pack, review_workbook
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# Files for the CLI
# --------------------------------------------------------------------------------------


def pack_file_stem(dataset_name: str, lang: str) -> str:
    """A file name stem that is safe on every OS: ``review-pack_Sample_store_en``."""
    safe = re.sub(r"[^\w\-]+", "_", dataset_name, flags=re.UNICODE).strip("_") or "dataset"
    return f"review-pack_{safe[:60]}_{normalize_lang(lang)}"


def write_review_pack(
    ws: Workspace,
    dataset_name: str,
    out_dir: str | Path,
    lang: str = "en",
    scenario: str | None = None,
    plan: str | None = None,
    *,
    as_of: date | None = None,
) -> list[Path]:
    """Write the workbook and the deck for ``dataset_name`` into ``out_dir``; returns [xlsx path, pptx path].

    What ``python -m lib.cli review-pack --dataset NAME [--scenario NAME] [--plan NAME] --lang en|zh --out DIR``
    runs. Raises ``workspace.DatasetNotFound`` for an unknown dataset and ReviewPackError (``.message(lang)``)
    for a dataset without orders or an unknown scenario or plan.
    """
    dataset = ws.get_dataset(dataset_name)
    pack = build_pack(ws, dataset.dataset_id, lang, scenario=scenario, plan=plan, as_of=as_of)
    generated = datetime.now()
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    stem = pack_file_stem(dataset.name, pack.lang)
    xlsx = target / f"{stem}.xlsx"
    pptx = target / f"{stem}.pptx"
    xlsx.write_bytes(review_workbook(ws, dataset.dataset_id, pack.lang, pack=pack, generated_at=generated))
    pptx.write_bytes(review_deck(ws, dataset.dataset_id, pack.lang, pack=pack, generated_at=generated))
    return [xlsx, pptx]
