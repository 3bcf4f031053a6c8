from django.urls import path

from scheduling.fhir import views

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="fhir-metadata"),
    path("Patient", views.PatientView.as_view(), name="fhir-patients"),
    path("Patient/<int:pk>", views.PatientView.as_view(), name="fhir-patient"),
    path("Practitioner", views.PractitionerView.as_view()),
    path("Practitioner/<int:pk>", views.PractitionerView.as_view()),
    path("Location", views.LocationView.as_view()),
    path("Location/<int:pk>", views.LocationView.as_view()),
    path("HealthcareService", views.HealthcareServiceView.as_view()),
    path("HealthcareService/<int:pk>", views.HealthcareServiceView.as_view()),
    path("Schedule", views.ScheduleView.as_view()),
    path("Schedule/<str:pk>", views.ScheduleView.as_view()),
    path("Slot", views.SlotView.as_view()),
    path("Slot/<str:pk>", views.SlotView.as_view()),
    path("Appointment", views.AppointmentView.as_view(), name="fhir-appointments"),
    path("Appointment/<int:pk>", views.AppointmentView.as_view(), name="fhir-appointment"),
]
