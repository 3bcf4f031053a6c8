"""The accounts part of /api/v1/: the same on the public site and on every chain's site."""

from django.urls import path

from tenants.accounts import api

urlpatterns = [
    path("auth/login/", api.LoginApi.as_view(), name="api-login"),
    path("auth/logout/", api.LogoutApi.as_view(), name="api-logout"),
    path("auth/logout-all/", api.LogoutAllApi.as_view(), name="api-logout-all"),
    path("auth/tokens/", api.TokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<str:token_id>/", api.TokenDetailApi.as_view(), name="api-token"),
    path("me/", api.MeApi.as_view(), name="api-me"),
]
