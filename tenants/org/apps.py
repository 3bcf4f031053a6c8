from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "tenants.org"
    label = "org"
    verbose_name = "Organisation"
