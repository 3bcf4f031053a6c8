"""No float in money code: amounts are integer minor units (or Decimal at the edges, config.money).
The ledger (invoicing/), packages/ and config/money.py are read as syntax trees: a float literal, a
float() call, a `float` annotation or a true division `/` (which gives a float even of two ints) is
refused; `//` and divmod are how integer amounts are split."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONEY_CODE = [ROOT / "invoicing", ROOT / "packages", ROOT / "config" / "money.py"]


def _files() -> list[Path]:
    found: list[Path] = []
    for place in MONEY_CODE:
        found.extend([place] if place.is_file() else sorted(place.rglob("*.py")))
    return [p for p in found if "migrations" not in p.parts]


def float_uses(source: str, name: str = "<code>") -> list[str]:
    """Where ``source`` uses a float: literal, float() call or annotation, true division."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            problems.append(f"{name}:{line} float literal {node.value!r}")
        elif isinstance(node, ast.Name) and node.id == "float":
            problems.append(f"{name}:{line} float")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            problems.append(f"{name}:{line} true division /")
    return sorted(problems, key=lambda p: int(p.split(":")[1].split(" ")[0]))


def test_the_check_sees_each_kind_of_float():
    source = "a = 1.5\nb = float(x)\nc = x / 2\nc /= 3\ndef f(y: float) -> int: ...\nd = x // 2\n"
    assert [p.split(" ", 1)[1] for p in float_uses(source)] == [
        "float literal 1.5",
        "float",
        "true division /",
        "true division /",
        "float",
    ]


def test_money_code_uses_no_float():
    files = _files()
    assert ROOT / "invoicing" / "models.py" in files  # the scan reads the ledger
    problems = [p for path in files for p in float_uses(path.read_text(), str(path.relative_to(ROOT)))]
    assert problems == []
