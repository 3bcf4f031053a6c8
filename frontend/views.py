"""Pages of a clinic chain's site: home, chain settings, branches, staff, invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from frontend.forms import (
    AcceptInvitationForm,
    BranchEditForm,
    BranchForm,
    ChainSettingsForm,
    InviteForm,
    StaffForm,
    submit,
)
from patients.portal import patient_of
from scheduling.selectors import doctor_offerings
from scheduling.today import today_for
from tenants.audit.services import access_log_rows
from tenants.authz import authorize
from tenants.org import selectors, services
from tenants.org.models import Branch, Role
from tenants.org.rules import staff_of


def _branch_choices(request: HttpRequest) -> QuerySet[Branch]:
    return selectors.branch_list_managed(actor=request.user)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Today's work for whoever signs in: each of their roles adds its part (scheduling.today). A
    patient signed in to the portal has no staff home: their start page is the portal."""
    staff = staff_of(request.user)
    if staff is None and patient_of(request.user) is not None:
        return redirect("portal-home")
    today = today_for(actor=request.user)
    shown = today.shown()
    access_log_rows(
        actor=request.user,
        object_type="appointment",
        rows=[{"id": v.id, "patient_id": v.patient_id} for v in shown],
        request=request,
    )
    roles = [Role(r).label for r in staff.roles] if staff else []
    return render(request, "frontend/home.html", {"today": today, "roles": roles})


@login_required
def chain_settings(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "org.change_settings")
    chain = selectors.chain_settings_get()
    initial = {f: getattr(chain, f) for f in ChainSettingsForm.base_fields}
    form = ChainSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = submit(form, lambda: services.chain_settings_update(actor=request.user, **form.cleaned_data))
        if saved:
            messages.success(request, "Chain settings saved.")
            return redirect("settings")
    return render(request, "frontend/settings.html", {"form": form})


@login_required
def branch_list(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "org.view_branch")
    branches = selectors.branch_list(actor=request.user)
    managed = selectors.branch_ids_managed(actor=request.user)
    rows = [(b, managed is None or b.pk in managed) for b in branches]
    return render(request, "frontend/branches.html", {"rows": rows, "can_add": request.user.has_perm("org.add_branch")})


@login_required
def branch_create(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "org.add_branch")
    form = BranchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        branch = submit(form, lambda: services.branch_create(actor=request.user, **form.branch_fields()))
        if branch:
            messages.success(request, f"Branch {branch.name} added.")
            return redirect("branches")
    return render(request, "frontend/branch_form.html", {"form": form, "title": "Add a branch"})


@login_required
def branch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    branch = get_object_or_404(Branch, pk=pk)
    authorize(request.user, "org.change_branch", branch)
    initial = {
        "name": branch.name,
        "address": branch.address,
        "timezone": branch.timezone,
        "phone": branch.phone,
        "is_active": branch.is_active,
    }
    form = BranchEditForm(request.POST or None, initial=initial)
    if not request.user.has_perm("org.add_branch"):
        form.fields["is_active"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        extra = {"is_active": d["is_active"]} if request.user.has_perm("org.add_branch") else {}
        saved = submit(
            form, lambda: services.branch_update(actor=request.user, branch=branch, **form.branch_fields(), **extra)
        )
        if saved:
            messages.success(request, f"Branch {saved.name} saved.")
            return redirect("branches")
    return render(request, "frontend/branch_form.html", {"form": form, "title": f"Edit {branch.name}"})


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "org.view_staff")
    context = {
        "staff": selectors.staff_list(actor=request.user),
        "invitations": selectors.invitation_list(actor=request.user).filter(status="pending"),
    }
    return render(request, "frontend/staff.html", context)


@login_required
def staff_invite(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "org.view_staff")
    form = InviteForm(request.POST or None, branch_queryset=_branch_choices(request))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        result = submit(
            form,
            lambda: services.staff_invite(
                actor=request.user, email=d["email"], roles=d["roles"], branch_ids=[b.pk for b in d["branches"]]
            ),
            field_map={"branch_ids": "branches"},
        )
        if result:
            messages.success(request, f"Invitation sent to {result[0].email}.")
            return redirect("staff")
    return render(request, "frontend/invite.html", {"form": form})


@login_required
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    authorize(request.user, "org.view_staff")
    member = get_object_or_404(selectors.staff_list(actor=request.user), pk=pk)
    initial = {
        "roles": member.roles,
        "branches": member.branches.all(),
        "job_title": member.job_title,
        "is_active": member.is_active,
    }
    form = StaffForm(request.POST or None, initial=initial, branch_queryset=_branch_choices(request))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        saved = submit(
            form,
            lambda: services.staff_update(
                actor=request.user,
                staff=member,
                roles=d["roles"],
                branch_ids=[b.pk for b in d["branches"]],
                job_title=d["job_title"],
                is_active=d["is_active"],
            ),
            field_map={"branch_ids": "branches"},
        )
        if saved:
            messages.success(request, f"{saved} saved.")
            return redirect("staff")
    offerings = doctor_offerings(actor=request.user, doctor=member) if Role.DOCTOR in member.roles else []
    return render(request, "frontend/staff_form.html", {"form": form, "member": member, "offerings": offerings})


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    authorize(request.user, "org.view_staff")
    invitation = get_object_or_404(selectors.invitation_list(actor=request.user), pk=pk)
    services.invitation_revoke(actor=request.user, invitation=invitation)
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("staff")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_get_pending(token=token)  # 404/409 pages when not usable
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        user = submit(
            form,
            lambda: services.invitation_accept(
                token=token, first_name=d["first_name"], last_name=d["last_name"], password=d["password"]
            ),
        )
        if user:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Your account is ready.")
            return redirect("home")
    return render(request, "frontend/accept.html", {"form": form, "invitation": invitation})
