from __future__ import annotations

from django.db.models import QuerySet

from config.validation import phone_region as region_of
from tenants.authz import Actor
from tenants.org.models import CHAIN_WIDE_ROLES, Branch, ChainSettings, Invitation, Role, StaffMember
from tenants.org.rules import is_owner, managed_branch_ids, staff_of


def chain_settings_get() -> ChainSettings:
    return ChainSettings.objects.get(pk=1)


def phone_region(*, timezone_name: str | None = None) -> str | None:
    """The country a phone number typed in national form is read in, here: that of the branch's time
    zone (``timezone_name``), else of the chain's, else of its locale (config.validation.phone_region)."""
    chain = chain_settings_get()
    return region_of(timezones=(timezone_name, chain.default_timezone), locale=chain.locale)


def branch_ids_visible(*, actor: Actor) -> frozenset[int] | None:
    """The one answer to "which branches may this user see": None means every branch (a chain-wide
    role), otherwise the branches the staff member is assigned to. Staff without a branch see none,
    and so do patients and anonymous visitors. Pages, the API, FHIR and the calendars all ask here.

    Cached on the user object for the request, like the staff row itself."""
    staff = staff_of(actor)
    if staff is None:
        return frozenset()
    if not hasattr(actor, "_visible_branch_ids"):
        setattr(  # noqa: B010 - cached on the request's user, like the staff row
            actor,
            "_visible_branch_ids",
            None if set(staff.roles) & CHAIN_WIDE_ROLES else frozenset(staff.branches.values_list("id", flat=True)),
        )
    visible: frozenset[int] | None = getattr(actor, "_visible_branch_ids")  # noqa: B009
    return visible


def branch_visible(*, actor: Actor, branch_id: int | None) -> bool:
    visible = branch_ids_visible(actor=actor)
    return branch_id is not None and (visible is None or branch_id in visible)


def branch_list(*, actor: Actor) -> QuerySet[Branch]:
    """The branches this user may see (see branch_ids_visible)."""
    visible = branch_ids_visible(actor=actor)
    qs = Branch.objects.all()
    return qs if visible is None else qs.filter(pk__in=visible)


def branch_ids_managed(*, actor: Actor) -> frozenset[int] | None:
    """The one answer to "which branches may this user administer" (their staff, invitations,
    doctors' leave): None means every branch (an owner), otherwise the branches they manage as a
    branch manager; nobody else manages any."""
    return None if is_owner(actor) else managed_branch_ids(actor)


def branch_list_managed(*, actor: Actor) -> QuerySet[Branch]:
    """The open branches this user administers (see branch_ids_managed): the choices of the staff
    and invitation forms."""
    managed = branch_ids_managed(actor=actor)
    qs = Branch.objects.filter(is_active=True)
    return qs if managed is None else qs.filter(pk__in=managed)


def staff_list(*, actor: Actor) -> QuerySet[StaffMember]:
    """Owners see everyone; branch managers see the staff of the branches they manage."""
    qs = StaffMember.objects.select_related("user").prefetch_related("branches")
    managed = branch_ids_managed(actor=actor)
    return qs if managed is None else qs.filter(branches__in=managed).distinct()


def invitation_list(*, actor: Actor) -> QuerySet[Invitation]:
    qs = Invitation.objects.prefetch_related("branches").select_related("invited_by")
    managed = branch_ids_managed(actor=actor)
    return qs if managed is None else qs.filter(branches__in=managed).distinct()


def doctor_list_managed(*, actor: Actor) -> QuerySet[StaffMember]:
    """The active doctors whose leave this user manages: every doctor for an owner, the doctors
    of their branches for a branch manager, herself for a doctor, nobody otherwise."""
    doctors = StaffMember.objects.filter(roles__contains=[Role.DOCTOR], is_active=True).select_related("user")
    managed = branch_ids_managed(actor=actor)
    if managed is None:
        return doctors
    if managed:
        return doctors.filter(branches__in=managed).distinct()
    staff = staff_of(actor)
    if staff is not None and Role.DOCTOR in staff.roles:
        return doctors.filter(pk=staff.pk)
    return doctors.none()


def staff_with_role(role: Role) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(is_active=True, roles__contains=[role])
