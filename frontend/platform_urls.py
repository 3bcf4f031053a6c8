from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import platform_views

urlpatterns = [
    path("", platform_views.landing, name="landing"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("platform/clinics/", platform_views.clinics, name="platform-clinics"),
    path(
        "platform/clinics/<slug:slug>/<str:action>/",
        platform_views.clinic_status,
        name="platform-clinic-status",
    ),
]
