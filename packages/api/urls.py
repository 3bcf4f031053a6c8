from django.urls import path

from packages.api import views

urlpatterns = [
    path("packages/products/", views.ProductListApi.as_view(), name="api-package-products"),
    path("packages/products/<int:pk>/", views.ProductDetailApi.as_view(), name="api-package-product"),
    path("packages/products/<int:pk>/retire/", views.ProductRetireApi.as_view(), name="api-package-product-retire"),
    path("packages/patients/<int:pk>/purchases/", views.PatientPurchasesApi.as_view(), name="api-package-purchases"),
    path(
        "packages/patients/<int:pk>/pending-sessions/",
        views.PatientPendingSessionsApi.as_view(),
        name="api-package-pending-sessions",
    ),
    path("packages/pending/", views.PendingByProductApi.as_view(), name="api-package-pending"),
    path(
        "packages/appointments/<int:pk>/release/",
        views.AppointmentReleaseApi.as_view(),
        name="api-package-release",
    ),
    path("packages/appointments/<int:pk>/use/", views.AppointmentUseApi.as_view(), name="api-package-use"),
]
