from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import platform_views

urlpatterns = [
    path("", platform_views.landing, name="landing"),
    # The operator's sign-in lands on the console: the settings' LOGIN_REDIRECT_URL names the chains'
    # home page, which this site does not have (it answered 500). The page names the product, not the
    # host (LoginView would put the request's host in site_name).
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, next_page="platform-clinics", extra_context={"site_name": "Clinicflow"}
        ),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("platform/clinics/", platform_views.clinics, name="platform-clinics"),
    path(
        "platform/clinics/<slug:slug>/<str:action>/",
        platform_views.clinic_status,
        name="platform-clinic-status",
    ),
]
