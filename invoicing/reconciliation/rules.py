"""Who sees the reconciliation of the chain's Stripe account and resolves its mismatches: owners
and billing staff. The connected account is the chain's, not a branch's, so this is chain-wide."""

from __future__ import annotations

import rules

from scheduling.rules import is_billing
from tenants.org.rules import is_owner

rules.add_perm("invoicing.view_reconciliation", is_owner | is_billing)
rules.add_perm("invoicing.resolve_mismatch", is_owner | is_billing)
