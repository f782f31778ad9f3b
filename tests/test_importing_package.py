"""lib.importing loads its submodules on first use: the public names resolve, and the type checkers' list agrees."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import lib.importing as importing

ROOT = Path(__file__).resolve().parent.parent


def _type_checking_names() -> dict[str, str]:
    """name -> module path of the ``if TYPE_CHECKING:`` imports in lib/importing/__init__.py."""
    tree = ast.parse((ROOT / "lib" / "importing" / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    names: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            assert alias.asname == alias.name  # "X as X": an explicit re-export
            names[alias.name] = f"{node.module}.{alias.name}" if node.module == "lib.importing" else str(node.module)
    return names


def test_the_lazy_table_and_the_type_checking_imports_agree() -> None:
    declared = _type_checking_names()
    assert set(declared) == set(importing.__all__)
    for name, where in declared.items():
        value = getattr(importing, name)
        if where == f"lib.importing.{name}":
            assert value is importlib.import_module(where)
        else:
            assert value is getattr(importlib.import_module(where), name)


def test_opening_a_workspace_loads_no_reader_or_validator() -> None:
    code = ("import sys, lib.workspace, lib.segments.export; "
            "print(sorted(m for m in sys.modules if m.startswith('lib.importing.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert loaded <= {"lib.importing.inplace", "lib.importing.attributes", "lib.importing.limits"}, loaded
