"""Navigation by role: each person sees the places they may use (the views check again)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from tenants.selectors import current_schema


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    public = current_schema() == "public"
    items: list[tuple[str, str]] = []
    site_name = "Clinicflow"
    page_lang = "en"
    account_url = None
    # Staff's account is their sign-in and two-factor page; a patient's is the portal's own page.
    account = {"title": "Your sign-in and two-factor settings", "current": "/accounts/two-factor", "sign_out": "logout"}
    settings_items: list[tuple[str, str]] = []
    if public:
        if user is not None and user.has_perm("tenants.manage_clinics"):
            items = [("Clinic chains", reverse("platform-clinics")), ("Admin", "/admin/")]
    else:
        from tenants.org.models import ChainSettings, Role
        from tenants.org.rules import staff_of

        profile = ChainSettings.objects.values_list("name", "locale").filter(pk=1).first()
        if profile is not None:
            site_name, page_lang = profile[0] or site_name, page_language(profile[1])
        if user is not None and user.is_authenticated:
            items = [("Home", reverse("home"))]
            account_url = reverse("two-factor")
            staff = staff_of(user)
            if staff is None and _is_patient(user):
                items = [("Your appointments", reverse("portal-home"))]
                account_url = reverse("portal-profile")
                account = {"title": "Your details and sign-out", "current": account_url, "sign_out": "portal-logout"}
            roles = set(staff.roles) if staff else set()
            if Role.DOCTOR in roles:
                items.append(("My day", reverse("my-day")))
            if user.has_perm("patients.add_patient"):
                items.append(("Front desk", reverse("desk")))
                items.append(("Patients", reverse("patients")))
            if user.has_perm("invoicing.view_invoice"):
                items.append(("Billing", reverse("billing")))
            if user.has_perm("invoicing.view_reconciliation"):
                items.append(("Reconciliation", reverse("billing-reconciliation")))
            if user.has_perm("notifications.view_message"):
                items.append(("Messages", reverse("messages")))
            if user.has_perm("reporting.view_reports"):
                items.append(("Reports", reverse("reports")))
            settings_items = _settings_items(user, roles)
            if settings_items:
                # Every settings page under one entry (a row that fits 1024 px); each lists the others.
                items.append(("Settings", settings_items[0][1]))
    path = request.path
    # The current entry is the longest one the path starts with (/settings/staff/ is Staff, not
    # Chain settings); on any settings page the main bar's current entry is Settings.
    settings_current = _current(path, settings_items)
    settings_nav = [{"label": label, "url": url, "current": url == settings_current} for label, url in settings_items]
    account_current = path.startswith(account["current"])
    # On one's account page the account link is the current place, not the page its path is under.
    current = None if account_current else _current(path, [(label, url) for label, url in items if label != "Settings"])
    nav = [
        {"label": label, "url": url, "current": settings_current is not None if label == "Settings" else url == current}
        for label, url in items
    ]
    return {
        "nav": nav,
        "settings_nav": settings_nav,
        "on_settings_page": settings_current is not None,
        "site_name": site_name,
        "page_lang": page_lang,
        "account_url": account_url,
        "account_title": account["title"],
        "account_current": account_current,
        "sign_out_url": reverse(account["sign_out"]),
    }


def page_language(locale: str | None) -> str:
    """The language the pages are marked in: they are written in English, read in the chain's region
    where its locale is an English one ("en-GB": British dates in fields that follow the page's
    language, and a British voice for screen readers); plain "en" otherwise."""
    parts = (locale or "").replace("_", "-").split("-")
    if parts[0].lower() == "en" and len(parts) > 1 and parts[1].isalpha() and len(parts[1]) == 2:
        return f"en-{parts[1].upper()}"
    return "en"


def _is_patient(user: Any) -> bool:
    from patients.portal import patient_of

    return patient_of(user) is not None


def _current(path: str, items: list[tuple[str, str]]) -> str | None:
    matches = [url for _, url in items if path == url or (url != "/" and path.startswith(url))]
    return max(matches, key=len, default=None)


def _settings_items(user: Any, roles: set[str]) -> list[tuple[str, str]]:
    """The settings pages this user may open, in the order the settings sub-navigation lists them."""
    from tenants.org.models import Role

    items: list[tuple[str, str]] = []
    if user.has_perm("org.change_settings"):
        items.append(("Chain settings", reverse("settings")))
    if user.has_perm("scheduling.manage_catalogue"):
        items.append(("Services", reverse("catalogue-services")))
    if user.has_perm("org.view_branch") and roles & {Role.OWNER, Role.BRANCH_MANAGER}:
        # Everyone on the staff may read the branches; only those who run them find the page here.
        items.append(("Branches", reverse("branches")))
    if user.has_perm("org.view_staff"):
        items.append(("Staff", reverse("staff")))
    if roles & {Role.OWNER, Role.BRANCH_MANAGER}:
        items.append(("Leave", reverse("leave")))
    if user.has_perm("scheduling.manage_policy"):
        items.append(("Booking rules", reverse("catalogue-policy")))
    if user.has_perm("org.manage_payments"):
        items.append(("Payments", reverse("settings-payments")))
    if user.has_perm("invoicing.manage_online_payments"):
        items.append(("Online payments", reverse("settings-online-payments")))
    if user.has_perm("packages.manage_product"):
        items.append(("Packages", reverse("settings-packages")))
    if user.has_perm("invoicing.manage_fee_policy"):
        items.append(("Fees", reverse("settings-fees")))
    if user.has_perm("notifications.view_messaging_settings"):
        items.append(("Messaging", reverse("settings-messages")))
    if user.has_perm("patients.view_audit"):
        items.append(("Emergency access", reverse("emergency-access")))
    return items
