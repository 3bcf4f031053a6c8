"""Who may shape and sell packages: owners define the products; reception, billing and owners sell
them at the branches they see and read patients' balances there; managers read the pending-sessions
report of their branches; doctors and patients nothing here."""

from __future__ import annotations

from typing import Any

import rules

from packages.models import PackagePurchase
from patients.rules import is_the_patient
from scheduling.rules import is_billing, is_receptionist
from tenants.org.models import Branch
from tenants.org.rules import is_branch_manager, is_owner
from tenants.org.selectors import branch_visible


@rules.predicate
def sees_branch(user: Any, target: PackagePurchase | Branch | None) -> bool:
    """The purchase's branch (or the branch) is one this user sees; no object: any branch."""
    if target is None:
        return True
    branch_id = target.branch_id if isinstance(target, PackagePurchase) else target.pk
    return branch_visible(actor=user, branch_id=branch_id)


sellers = is_owner | is_billing | is_receptionist

rules.add_perm("packages.manage_product", is_owner)
rules.add_perm("packages.sell", sellers & sees_branch)
rules.add_perm("packages.view_purchase", (sellers | is_branch_manager) & sees_branch)
rules.add_perm("packages.change_session", sellers & sees_branch)
# Billing and owners cancel a purchase (its credit note and refund are theirs to decide).
rules.add_perm("packages.cancel_purchase", (is_owner | is_billing) & sees_branch)
rules.add_perm("packages.view_report", is_owner | is_branch_manager | is_billing)
# A patient buys a package for themselves online (the portal), paying at once.
rules.add_perm("packages.buy_online", is_the_patient)
