from __future__ import annotations

import rules

from tenants.org.models import Role
from tenants.org.rules import is_owner, staff_of


@rules.predicate
def is_front_desk_or_clinician(user: object) -> bool:
    staff = staff_of(user)
    return staff is not None and bool({Role.BRANCH_MANAGER, Role.RECEPTIONIST, Role.DOCTOR} & set(staff.roles))


# Demographics: everyone who books or treats. (Clinical records get their own rules.)
rules.add_perm("patients.view_patient", is_owner | is_front_desk_or_clinician)
rules.add_perm("patients.add_patient", is_owner | is_front_desk_or_clinician)
