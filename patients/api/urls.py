from django.urls import path

from patients.api import views

urlpatterns = [
    path("patients/", views.PatientListApi.as_view(), name="api-patients"),
    path("patients/merge/", views.MergeApi.as_view(), name="api-patient-merge"),
    path("patients/<int:pk>/", views.PatientDetailApi.as_view(), name="api-patient"),
    path("patients/<int:pk>/consent/", views.ConsentApi.as_view(), name="api-patient-consent"),
    path("patients/<int:pk>/break-glass/", views.BreakGlassApi.as_view(), name="api-break-glass"),
    path("patients/<int:pk>/care-team/", views.CareTeamApi.as_view(), name="api-patient-care-team"),
    path(
        "patients/<int:pk>/care-team/<int:doctor_pk>/",
        views.CareTeamMemberApi.as_view(),
        name="api-patient-care-team-member",
    ),
    path("patients/<int:pk>/notes/", views.NoteListApi.as_view(), name="api-patient-notes"),
    path("patients/<int:pk>/diagnoses/", views.DiagnosisListApi.as_view(), name="api-patient-diagnoses"),
    path("patients/<int:pk>/prescriptions/", views.PrescriptionListApi.as_view(), name="api-patient-prescriptions"),
    path("patients/<int:pk>/attachments/", views.AttachmentListApi.as_view(), name="api-patient-attachments"),
    path("patients/<int:pk>/follow-ups/", views.FollowUpListApi.as_view(), name="api-patient-follow-ups"),
    path("patients/<int:pk>/consent-forms/", views.ConsentFormListApi.as_view(), name="api-patient-consent-forms"),
    path("patients/<int:pk>/audit/", views.PatientAuditApi.as_view(), name="api-patient-audit"),
    path("notes/<int:pk>/", views.NoteDetailApi.as_view(), name="api-note"),
    path("notes/<int:pk>/sign/", views.NoteSignApi.as_view(), name="api-note-sign"),
    path("notes/<int:pk>/addenda/", views.AddendumApi.as_view(), name="api-note-addenda"),
    path("attachments/<int:pk>/download/", views.AttachmentDownloadApi.as_view(), name="api-attachment-download"),
    path("follow-ups/<int:pk>/close/", views.FollowUpCloseApi.as_view(), name="api-follow-up-close"),
    path("consent-forms/<int:pk>/withdraw/", views.ConsentFormWithdrawApi.as_view(), name="api-consent-form-withdraw"),
    path("audit/users/<int:pk>/", views.UserAuditApi.as_view(), name="api-user-audit"),
]
