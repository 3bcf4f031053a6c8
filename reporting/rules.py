"""Who may read which figures (reporting.scope turns these into the branches and doctor a reader is
held to):

* owners: everything, every branch;
* branch managers: every figure of the branches they see (tenants.org.selectors.branch_ids_visible);
* doctors: their own figures (their visits and the money of their visits);
* billing: the money figures of their branches, and the money work lists (invoices to chase,
  package sessions paid for), without clinical detail (no visit figures, no follow-ups);
* reception: the list of patients to call back (follow-ups) at their branches, nothing else;
* patients: nothing.
"""

from __future__ import annotations

import rules

from scheduling.rules import is_billing, is_doctor, is_receptionist
from tenants.org.rules import is_branch_manager, is_owner

leads = is_owner | is_branch_manager

rules.add_perm("reporting.view_figures", leads | is_doctor)
rules.add_perm("reporting.view_money", leads | is_billing | is_doctor)
rules.add_perm("reporting.view_receivables", leads | is_billing)
rules.add_perm("reporting.view_packages", leads | is_billing)
rules.add_perm("reporting.view_call_backs", leads | is_doctor | is_receptionist)
rules.add_perm("reporting.view_reports", leads | is_billing | is_doctor | is_receptionist)
