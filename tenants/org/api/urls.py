from django.urls import path

from tenants.org.api import views

urlpatterns = [
    path("settings/", views.ChainSettingsApi.as_view(), name="api-settings"),
    path("branches/", views.BranchListApi.as_view(), name="api-branches"),
    path("branches/<int:pk>/", views.BranchDetailApi.as_view(), name="api-branch"),
    path("staff/", views.StaffListApi.as_view(), name="api-staff"),
    path("staff/<int:pk>/", views.StaffDetailApi.as_view(), name="api-staff-member"),
    path("invitations/", views.InvitationListApi.as_view(), name="api-invitations"),
    path("invitations/accept/", views.InvitationAcceptApi.as_view(), name="api-invitation-accept"),
    path("invitations/<int:pk>/revoke/", views.InvitationRevokeApi.as_view(), name="api-invitation-revoke"),
]
