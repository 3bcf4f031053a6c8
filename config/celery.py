"""The Celery app. Tasks published inside a clinic's schema carry the schema name and run in it."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("clinicflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["invoicing.checkout"])  # invoicing.checkout.tasks
app.autodiscover_tasks(["invoicing"], related_name="fee_tasks")  # invoicing.fee_tasks
app.autodiscover_tasks(["scheduling"], related_name="waitlist_tasks")  # scheduling.waitlist_tasks
app.autodiscover_tasks(["notifications"], related_name="schedule_tasks")  # notifications.schedule_tasks
