"""Who may see and change the ledger: owners and billing staff everything at the branches they see;
reception sees invoices of its branches and records payments there; branch managers read the
billing of their branches and change nothing; doctors nothing. The fee policy is the owners' to
change (billing reads it)."""

from __future__ import annotations

from typing import Any

import rules

from invoicing.models import Invoice
from scheduling.rules import is_billing, is_receptionist
from tenants.org.models import Branch
from tenants.org.rules import is_branch_manager, is_owner
from tenants.org.selectors import branch_visible


@rules.predicate
def sees_branch(user: Any, target: Invoice | Branch | None) -> bool:
    """The invoice's branch (or the branch) is one this user sees; no object: any branch."""
    if target is None:
        return True
    branch_id = target.branch_id if isinstance(target, Invoice) else target.pk
    return branch_visible(actor=user, branch_id=branch_id)


ledger_staff = is_owner | is_billing

# Branch managers read the billing of their branches (invoices, receivables, takings) and change
# nothing in it: no payments, refunds, credit notes or voids.
ledger_readers = ledger_staff | is_receptionist | is_branch_manager

rules.add_perm("invoicing.view_invoice", ledger_readers & sees_branch)
rules.add_perm("invoicing.record_payment", (ledger_staff | is_receptionist) & sees_branch)
rules.add_perm("invoicing.manage_invoice", ledger_staff & sees_branch)
rules.add_perm("invoicing.view_receivables", ledger_staff | is_branch_manager)
# The day's takings of a branch (the end-of-day cash-up): those who take money there and those who run it.
rules.add_perm("invoicing.view_takings", ledger_readers & sees_branch)
rules.add_perm("invoicing.manage_tax_rates", is_owner)

# --- fees12: cards on file and fees. Staff never see a card number, only brand, last four and expiry.
rules.add_perm("invoicing.view_card", ledger_staff | is_receptionist)
rules.add_perm("invoicing.remove_card", ledger_staff | is_receptionist)
rules.add_perm("invoicing.manage_fee_policy", is_owner)
rules.add_perm("invoicing.view_fees", (ledger_staff | is_receptionist) & sees_branch)
rules.add_perm("invoicing.manage_fees", ledger_staff & sees_branch)
rules.add_perm("invoicing.view_fee_policy", ledger_staff)

# checkout12: what online booking asks to be paid (deposits, prepayment): owners.
rules.add_perm("invoicing.manage_online_payments", is_owner)

# Reconciliation with the connected Stripe account: owners and billing, chain-wide.
from invoicing.reconciliation import rules as _reconciliation_rules  # noqa: E402, F401 - registers on import
