"""Write use cases of a clinic chain's organisation. Each runs in one transaction and checks the
actor's permission itself."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.unset import UNSET, Unset
from config.validation import (
    collect,
    currency_error,
    email_error,
    locale_error,
    name_error,
    phone_checked,
    phone_region,
    require_valid,
    timezone_error,
)
from tenants.accounts.models import User
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize, user_of
from tenants.org import selectors
from tenants.org.exceptions import (
    BranchNameTaken,
    EmailInUse,
    InvalidOrgData,
    InvitationInvalid,
    InvitationNotPending,
    LastOwner,
)
from tenants.org.models import STAFF_ROLES, Branch, ChainSettings, Invitation, Role, StaffMember
from tenants.org.rules import Assignment
from tenants.selectors import current_clinic, current_clinic_url


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _branches(branch_ids: Iterable[int]) -> list[Branch]:
    ids = set(branch_ids)
    found = list(Branch.objects.filter(pk__in=ids, is_active=True))
    if len(found) != len(ids):
        raise InvalidOrgData(fields={"branch_ids": ["One or more branches do not exist."]})
    return found


def _check_roles(roles: Sequence[str]) -> list[str]:
    allowed = {r.value for r in STAFF_ROLES}
    unknown = [r for r in roles if r not in allowed]
    require_valid(InvalidOrgData, {"roles": "Choose at least one role." if not roles else None})
    require_valid(InvalidOrgData, {"roles": f"Unknown role(s): {', '.join(unknown)}." if unknown else None})
    return sorted(set(roles))


def _two_factor_roles_error(roles: Sequence[str]) -> str | None:
    unknown = set(roles) - {r.value for r in STAFF_ROLES}
    return f"Unknown role(s): {', '.join(sorted(unknown))}." if unknown else None


@transaction.atomic
def chain_settings_update(
    *,
    actor: Actor,
    name: str | Unset = UNSET,
    default_timezone: str | Unset = UNSET,
    currency: str | Unset = UNSET,
    locale: str | Unset = UNSET,
    contact_email: str | Unset = UNSET,
    contact_phone: str | Unset = UNSET,
    two_factor_roles: Sequence[str] | Unset = UNSET,
) -> ChainSettings:
    authorize(actor, "org.change_settings")
    chain = ChainSettings.objects.select_for_update().get(pk=1)
    changes: dict[str, str | list[str]] = {}
    errors: dict[str, str | None] = {}
    if name is not UNSET:
        changes["name"] = name.strip()
        errors["name"] = name_error(name)
    if default_timezone is not UNSET:
        changes["default_timezone"] = default_timezone
        errors["default_timezone"] = timezone_error(default_timezone)
    if currency is not UNSET:
        changes["currency"] = currency.upper()
        errors["currency"] = currency_error(currency.upper())
    if locale is not UNSET:
        changes["locale"] = locale.lower()
        errors["locale"] = locale_error(locale.lower())
    if contact_email is not UNSET:
        changes["contact_email"] = contact_email
        errors["contact_email"] = email_error(contact_email) if contact_email else None
    if contact_phone is not UNSET:
        # Read in the country the chain is in, as this very change may set it.
        region = phone_region(
            timezones=(str(changes.get("default_timezone", chain.default_timezone)),),
            locale=str(changes.get("locale", chain.locale)),
        )
        changes["contact_phone"], errors["contact_phone"] = phone_checked(contact_phone, region=region)
    if two_factor_roles is not UNSET:
        # Owners always use two-factor sign-in: only the other staff roles are a choice.
        changes["two_factor_roles"] = sorted(set(two_factor_roles) - {Role.OWNER.value})
        errors["two_factor_roles"] = _two_factor_roles_error(changes["two_factor_roles"])
    require_valid(InvalidOrgData, errors)
    for key, value in changes.items():
        setattr(chain, key, value)
    changed_by(chain, actor)
    chain.save()
    if "name" in changes:
        # The platform operator's list shows the chain under the name its owner chose.
        clinic = current_clinic()
        type(clinic).objects.filter(pk=clinic.pk).update(name=chain.name)
    return chain


def _branch_fields(name: str, address: str, timezone_name: str, phone: str) -> dict[str, str]:
    number, phone_problem = phone_checked(phone, region=selectors.phone_region(timezone_name=timezone_name))
    fields = {"name": name.strip(), "address": address.strip(), "timezone": timezone_name, "phone": number}
    require_valid(
        InvalidOrgData,
        {
            "name": name_error(name),
            "timezone": timezone_error(timezone_name),
            "phone": phone_problem,
        },
    )
    return fields


def _save_branch(branch: Branch, actor: Actor) -> Branch:
    changed_by(branch, actor)
    try:
        with transaction.atomic():
            branch.save()
    except IntegrityError as exc:
        if "branch_name_ci_unique" in str(exc):
            raise BranchNameTaken() from exc
        raise
    return branch


@transaction.atomic
def branch_create(*, actor: Actor, name: str, timezone_name: str, address: str = "", phone: str = "") -> Branch:
    authorize(actor, "org.add_branch")
    return _save_branch(Branch(**_branch_fields(name, address, timezone_name, phone)), actor)


@transaction.atomic
def branch_update(
    *,
    actor: Actor,
    branch: Branch,
    name: str | Unset = UNSET,
    timezone_name: str | Unset = UNSET,
    address: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    is_active: bool | Unset = UNSET,
) -> Branch:
    authorize(actor, "org.change_branch", branch)
    branch = Branch.objects.select_for_update().get(pk=branch.pk)
    fields = _branch_fields(
        branch.name if name is UNSET else name,
        branch.address if address is UNSET else address,
        branch.timezone if timezone_name is UNSET else timezone_name,
        branch.phone if phone is UNSET else phone,
    )
    for key, value in fields.items():
        setattr(branch, key, value)
    if is_active is not UNSET:
        authorize(actor, "org.add_branch")  # opening and closing branches is the owner's call
        branch.is_active = is_active
    return _save_branch(branch, actor)


@transaction.atomic
def staff_invite(
    *, actor: Actor, email: str, roles: Sequence[str], branch_ids: Iterable[int] = ()
) -> tuple[Invitation, str]:
    """Invite someone by e-mail. Returns the invitation and the one-time link (sent by e-mail after
    commit; shown to nobody else)."""
    email = (email or "").strip().lower()
    require_valid(InvalidOrgData, {"email": email_error(email)})
    roles = _check_roles(roles)
    branch_ids = frozenset(branch_ids)
    authorize(actor, "org.assign_staff", Assignment.of(roles, branch_ids))
    branches = _branches(branch_ids)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailInUse()
    # Inviting the same address again replaces the open invitation (the old link stops working).
    Invitation.objects.filter(email__iexact=email, status=Invitation.Status.PENDING).update(
        status=Invitation.Status.REVOKED
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        roles=roles,
        token_hash=_token_hash(token),
        invited_by=user_of(actor),
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    changed_by(invitation, actor)
    invitation.save()
    invitation.branches.set(branches)
    link = f"{current_clinic_url()}/invite/{token}/"
    chain_name = ChainSettings.objects.values_list("name", flat=True).get(pk=1)
    inviter = str(actor)
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {chain_name} on Clinicflow",
            message=(
                f"{inviter} invited you to join {chain_name} as "
                f"{', '.join(Role(r).label for r in roles)}.\n\nAccept the invitation: {link}\n\n"
                f"The link works once and expires on {invitation.expires_at:%Y-%m-%d}."
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, link


def invitation_get_pending(*, token: str, lock: bool = False) -> Invitation:
    qs = Invitation.objects.select_for_update() if lock else Invitation.objects
    invitation = qs.filter(token_hash=_token_hash(token or "")).first()
    if invitation is None:
        raise InvitationInvalid()
    if invitation.status == Invitation.Status.PENDING and invitation.expires_at <= timezone.now():
        raise InvitationNotPending("This invitation has expired. Ask for a new one.")
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationNotPending()
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, first_name: str, last_name: str, password: str) -> User:
    # The row lock serialises two people racing with the same link: the second finds it accepted.
    invitation = invitation_get_pending(token=token, lock=True)
    errors = collect(
        {
            "first_name": name_error(first_name, empty="Enter your first name."),
            "last_name": name_error(last_name, empty="Enter your last name."),
        }
    )
    user = User(email=invitation.email, first_name=first_name.strip(), last_name=last_name.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise InvalidOrgData(fields=errors)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise EmailInUse()
    user.set_password(password)
    user.save()
    staff = StaffMember.objects.create(user=user, roles=invitation.roles)
    staff.branches.set(invitation.branches.all())
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    changed_by(invitation, user)
    invitation.save()
    return user


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    authorize(
        actor,
        "org.assign_staff",
        Assignment.of(invitation.roles, invitation.branches.values_list("id", flat=True)),
    )
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationNotPending()
    invitation.status = Invitation.Status.REVOKED
    changed_by(invitation, actor)
    invitation.save()
    return invitation


@transaction.atomic
def invitations_expire() -> int:
    """Mark pending invitations past their expiry as expired. Idempotent."""
    stale = Invitation.objects.filter(status=Invitation.Status.PENDING, expires_at__lte=timezone.now())
    count = 0
    for invitation in stale.select_for_update(skip_locked=True):
        invitation.status = Invitation.Status.EXPIRED
        invitation.save(update_fields=["status"])
        count += 1
    return count


@transaction.atomic
def staff_update(
    *,
    actor: Actor,
    staff: StaffMember,
    roles: Sequence[str] | Unset = UNSET,
    branch_ids: Iterable[int] | Unset = UNSET,
    job_title: str | Unset = UNSET,
    is_active: bool | Unset = UNSET,
) -> StaffMember:
    # Owner changes are serialised on the owners' rows so two owners cannot demote each other at once.
    list(StaffMember.objects.select_for_update().filter(roles__contains=[Role.OWNER]).values_list("id"))
    staff = StaffMember.objects.select_for_update().get(pk=staff.pk)
    new_roles = _check_roles(roles) if roles is not UNSET else list(staff.roles)
    new_branch_ids = (
        frozenset(branch_ids) if branch_ids is not UNSET else frozenset(staff.branches.values_list("id", flat=True))
    )
    authorize(actor, "org.assign_staff", Assignment.of(new_roles, new_branch_ids, target=staff))
    branches = _branches(new_branch_ids)
    new_active = staff.is_active if is_active is UNSET else bool(is_active)
    losing_owner = Role.OWNER in staff.roles and staff.is_active and (Role.OWNER not in new_roles or not new_active)
    if (
        losing_owner
        and not StaffMember.objects.filter(is_active=True, roles__contains=[Role.OWNER]).exclude(pk=staff.pk).exists()
    ):
        raise LastOwner()
    staff.roles = new_roles
    staff.is_active = new_active
    if job_title is not UNSET:
        staff.job_title = job_title.strip()
    changed_by(staff, actor)
    staff.save()
    staff.branches.set(branches)
    if not new_active:
        type(staff.user).objects.filter(pk=staff.user_id).update(is_active=False)
    elif is_active is not UNSET:
        type(staff.user).objects.filter(pk=staff.user_id).update(is_active=True)
    return staff
