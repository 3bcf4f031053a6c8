from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import desk_views, patient_views, portal_views, views

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
    path("patients/", patient_views.patient_search, name="patients"),
    path("patients/new/", patient_views.patient_create, name="patient-create"),
    path("patients/<int:pk>/", patient_views.patient_chart, name="patient-chart"),
    path("patients/<int:pk>/break-glass/", patient_views.break_glass, name="patient-break-glass"),
    path("patients/<int:pk>/notes/new/", patient_views.note_edit, name="note-create"),
    path("patients/<int:pk>/notes/<int:note_pk>/", patient_views.note_edit, name="note-edit"),
    path("patients/<int:pk>/notes/<int:note_pk>/addenda/", patient_views.addendum_add, name="note-addendum"),
    path("patients/<int:pk>/audit/", patient_views.patient_audit, name="patient-audit"),
    path("audit/users/<int:pk>/", patient_views.user_audit, name="user-audit"),
    path("desk/", desk_views.desk, name="desk"),
    path("desk/<int:branch_pk>/", desk_views.desk, name="desk-branch"),
    path("desk/<int:branch_pk>/walk-in/", desk_views.walk_in, name="desk-walk-in"),
    path("desk/appointments/<int:pk>/<str:action>/", desk_views.appointment_action, name="desk-action"),
    path("portal/", portal_views.portal_home, name="portal-home"),
    path("portal/sign-in/", portal_views.portal_login, name="portal-login"),
    path("portal/code/", portal_views.portal_verify, name="portal-verify"),
    path("portal/details/", portal_views.portal_profile, name="portal-profile"),
    path("portal/sign-out/", portal_views.portal_logout, name="portal-logout"),
    path("portal/appointments/<int:pk>/cancel/", portal_views.portal_cancel, name="portal-cancel"),
    path("portal/appointments/<int:pk>/change/", portal_views.portal_reschedule, name="portal-reschedule"),
]
