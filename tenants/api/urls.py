from django.urls import path

from tenants.api import views

urlpatterns = [
    path("clinics/", views.ClinicListApi.as_view(), name="api-clinics"),
    path("clinics/<slug:slug>/", views.ClinicDetailApi.as_view(), name="api-clinic"),
    path("clinics/<slug:slug>/suspend/", views.ClinicSuspendApi.as_view(), name="api-clinic-suspend"),
    path("clinics/<slug:slug>/reactivate/", views.ClinicReactivateApi.as_view(), name="api-clinic-reactivate"),
]
