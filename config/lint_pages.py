"""Keep pages thin: `python -m config.lint_pages [paths...]` (run by `make lint`).

A page parses its form, calls one service or selector, and renders or redirects (DESIGN.md, "Pages").
This check refuses, in the page modules of frontend/, what belongs in a service:

- ORM writes: `.save(`, `.delete(`, `.create(`, `.update(`, `bulk_create`/`bulk_update`,
  `get_or_create`, `update_or_create` (on anything: a dict is merged with `|=` in a page);
- transactions: `django.db.transaction` imported in any form, `transaction.atomic`/`on_commit`;
- sending messages: `django.core.mail`, `notifications.sms`, `twilio`, `send_mail(`/`send_sms(`;
- private names of another module: `from x import _y`, or `mod._y` on an imported module.

The forbidden imports are also an import-linter contract (pyproject.toml); this check catches the
calls and the private names, which import-linter cannot see. It prints one line per finding as
`path:line: message` and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "frontend"
# Not pages: the demo and its history seed a development chain the way a fixture would (`make demo`).
EXEMPT = {"demo.py", "demo_history.py"}
# Page modules still being moved onto services: their findings are printed but do not fail the
# lint. This list only shrinks; it is empty once every page is thin.
ALLOWED: set[str] = set()

WRITES = {"save", "delete", "create", "update", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
SENDERS = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "send_sms"}
FORBIDDEN_IMPORTS = ("django.db.transaction", "django.core.mail", "notifications.sms", "twilio")


def _forbidden(module: str) -> str | None:
    for name in FORBIDDEN_IMPORTS:
        if module == name or module.startswith(name + "."):
            return name
    return None


def check_source(source: str, path: str = "<string>") -> list[str]:
    """Every finding in one module's source, as `path:line: message`."""
    tree = ast.parse(source, filename=path)
    found: list[tuple[int, str]] = []
    modules: set[str] = set()  # names bound to imported modules (or things imported from them)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.add((alias.asname or alias.name).split(".")[0])
                if hit := _forbidden(alias.name):
                    found.append((node.lineno, f"imports {hit}: pages do not open transactions or send messages"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                modules.add(alias.asname or alias.name)
                if hit := _forbidden(base) or _forbidden(full):
                    found.append((node.lineno, f"imports {hit}: pages do not open transactions or send messages"))
                if alias.name.startswith("_") and node.level == 0:
                    found.append((node.lineno, f"imports the private name {alias.name} from {base}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in WRITES:
                found.append((node.lineno, f".{func.attr}() writes: call a service instead"))
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in SENDERS:
                found.append((node.lineno, f"{name}() sends a message: announce an event from a service"))
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "transaction":
                found.append((node.lineno, f"transaction.{node.attr}: the service owns the transaction"))
            elif (
                isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append((node.lineno, f"{node.value.id}.{node.attr}: a private name of another module"))
    return [f"{path}:{line}: {message}" for line, message in sorted(set(found))]


def page_modules(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        yield from (f for f in files if f.name not in EXEMPT and "migrations" not in f.parts)


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [PAGES]
    findings: list[str] = []
    for module in page_modules(paths):
        path = module.resolve()
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        found = check_source(module.read_text(encoding="utf-8"), name)
        if name in ALLOWED:
            print("\n".join(f"{f} (allowed for now)" for f in found) or f"{name}: clean, take it off ALLOWED")
        else:
            findings += found
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} finding(s): a page calls one service or selector (docs/architecture.md)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
