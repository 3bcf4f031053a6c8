"""What one reader may see of the figures: the one place that turns roles into branches and a
doctor (reporting.rules says who may read what). Selectors, the API and the pages all ask here, so
the answer is the same everywhere, and a filter asking for more than a reader may see is refused,
never silently narrowed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from config.errors import PermissionDenied
from reporting.exceptions import BranchNotInReach, DoctorNotInReach
from tenants.authz import Actor, authorize
from tenants.org.models import Role
from tenants.org.rules import staff_of
from tenants.org.selectors import branch_ids_visible


@dataclass(frozen=True)
class Reach:
    """``branch_ids``: None for every branch; ``doctor_id``: the one doctor whose figures these are
    (a doctor reading her own), None for every doctor of those branches."""

    branch_ids: frozenset[int] | None
    doctor_id: int | None = None

    def branches(self, asked: Iterable[int] | None) -> frozenset[int] | None:
        """The branches a query covers: those asked for (each one must be within reach) or all."""
        if asked is None:
            return self.branch_ids
        wanted = frozenset(asked)
        if self.branch_ids is not None and not wanted <= self.branch_ids:
            raise BranchNotInReach()
        return wanted

    def doctors(self, asked: Iterable[int] | None) -> frozenset[int] | None:
        """The doctors a query covers: a doctor reading her own figures covers herself only; a reader
        of some branches (a manager) the doctors who work there or saw patients there."""
        if self.doctor_id is None:
            if asked is None:
                return None
            wanted = frozenset(asked)
            if self.branch_ids is not None and wanted - _doctors_of(self.branch_ids, wanted):
                raise DoctorNotInReach()
            return wanted
        if asked is not None and frozenset(asked) - {self.doctor_id}:
            raise DoctorNotInReach()
        return frozenset({self.doctor_id})


def _doctors_of(branch_ids: frozenset[int], among: frozenset[int]) -> set[int]:
    """Of `among`, the doctors who work at one of the branches, or had an appointment at one."""
    from scheduling.models import Appointment
    from tenants.org.models import StaffMember

    working = set(StaffMember.objects.filter(pk__in=among, branches__in=branch_ids).values_list("pk", flat=True))
    rest = among - working
    if rest:
        working |= set(
            Appointment.objects.filter(doctor_id__in=rest, branch_id__in=branch_ids)
            .values_list("doctor_id", flat=True)
            .distinct()
        )
    return working


def _reach(actor: Actor, *, wider: set[str], own: bool) -> Reach | None:
    staff = staff_of(actor)
    if staff is None:
        return None
    roles = set(staff.roles)
    if Role.OWNER in roles:
        return Reach(None)
    if roles & wider:
        return Reach(branch_ids_visible(actor=actor))
    if own and Role.DOCTOR in roles:
        return Reach(branch_ids_visible(actor=actor), doctor_id=staff.pk)
    return None


def figures_reach(*, actor: Actor) -> Reach:
    """The visit figures (utilization, no-shows, cancellations...) this reader may see."""
    authorize(actor, "reporting.view_figures")
    reach = _reach(actor, wider={Role.BRANCH_MANAGER}, own=True)
    if reach is None:  # the rule and the roles say the same; a reader without a staff row has neither
        raise PermissionDenied()
    return reach


def money_reach(*, actor: Actor) -> Reach:
    """The money figures (invoiced, collected, refunded) this reader may see."""
    authorize(actor, "reporting.view_money")
    reach = _reach(actor, wider={Role.BRANCH_MANAGER, Role.BILLING}, own=True)
    if reach is None:
        raise PermissionDenied()
    return reach


def may_see_figures(*, actor: Actor) -> bool:
    return bool(actor.has_perm("reporting.view_figures"))


def may_see_money(*, actor: Actor) -> bool:
    return bool(actor.has_perm("reporting.view_money"))
