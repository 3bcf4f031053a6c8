from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/", views.chain_settings, name="settings"),
    path("settings/branches/", views.branch_list, name="branches"),
    path("settings/branches/new/", views.branch_create, name="branch-create"),
    path("settings/branches/<int:pk>/", views.branch_edit, name="branch-edit"),
    path("settings/staff/", views.staff_list, name="staff"),
    path("settings/staff/invite/", views.staff_invite, name="staff-invite"),
    path("settings/staff/<int:pk>/", views.staff_edit, name="staff-edit"),
    path("settings/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
