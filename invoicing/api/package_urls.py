from django.urls import path

from invoicing.api import package_views as views

urlpatterns = [
    path("packages/purchases/<int:pk>/cancel/", views.PurchaseCancelApi.as_view(), name="api-package-cancel"),
]
