""" "Which branches may this user see / administer" has one answer, tenants.org.selectors
(branch_ids_visible, branch_ids_managed): no other module works it out from roles again."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import project_packages

ROOT = Path(__file__).resolve().parent.parent
MODULES = project_packages()
# The raw role reads that answer lives on; only tenants.org may use them.
RAW = {"managed_branch_ids", "CHAIN_WIDE_ROLES"}


def _uses(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return names & RAW


def test_branches_are_worked_out_in_tenants_org_only():
    # given every module's own code but tenants.org's
    files = [
        p
        for m in MODULES
        for p in (ROOT / m).rglob("*.py")
        if "migrations" not in p.parts and not p.is_relative_to(ROOT / "tenants" / "org")
    ]
    # then none of them reads roles to work out visible or managed branches
    offenders = {str(p.relative_to(ROOT)): sorted(_uses(p)) for p in files if _uses(p)}
    assert offenders == {}, "ask tenants.org.selectors (branch_ids_visible / branch_ids_managed) instead"
