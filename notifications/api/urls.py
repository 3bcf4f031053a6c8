from django.urls import path

from notifications.api import views

urlpatterns = [
    path("messages/", views.MessageListApi.as_view(), name="api-messages"),
    path("messages/<int:pk>/", views.MessageDetailApi.as_view(), name="api-message"),
    path("messages/<int:pk>/resend/", views.MessageResendApi.as_view(), name="api-message-resend"),
    path("messages/templates/", views.TemplateListApi.as_view(), name="api-message-templates"),
    path(
        "messages/templates/<str:kind>/<str:channel>/<str:language>/",
        views.TemplateApi.as_view(),
        name="api-message-template",
    ),
    path(
        "messages/templates/<str:kind>/<str:channel>/<str:language>/reset/",
        views.TemplateResetApi.as_view(),
        name="api-message-template-reset",
    ),
    path("messages/settings/", views.MessagingSettingsApi.as_view(), name="api-messaging-settings"),
]
