from __future__ import annotations

from typing import Any

import rules

from tenants.selectors import current_schema


@rules.predicate
def is_platform_operator(user: Any) -> bool:
    # Operators are staff users of the public schema; a clinic's own users never qualify.
    return bool(getattr(user, "is_staff", False)) and current_schema() == "public"


rules.add_perm("tenants.manage_clinics", is_platform_operator)
