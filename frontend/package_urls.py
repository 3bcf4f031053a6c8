"""Session packages' pages (frontend/package_views.py)."""

from django.urls import path

from frontend import package_views

urlpatterns = [
    path("settings/packages/", package_views.packages_settings, name="settings-packages"),
    path("settings/packages/<int:pk>/retire/", package_views.package_retire, name="settings-package-retire"),
    path("patients/<int:pk>/packages/", package_views.patient_packages, name="patient-packages"),
    path(
        "patients/<int:pk>/packages/<int:purchase_pk>/cancel/",
        package_views.package_cancel_page,
        name="patient-package-cancel",
    ),
    path("packages/pending/", package_views.packages_report, name="packages-report"),
    path("packages/appointments/<int:pk>/", package_views.appointment_package_panel, name="appointment-package"),
    path("portal/packages/", package_views.portal_packages, name="portal-packages"),
    path("portal/packages/paid/<str:token>/", package_views.portal_package_paid, name="portal-package-paid"),
]
