from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from tenants.models import Clinic
from tenants.services import clinic_reactivate, clinic_suspend


class Command(BaseCommand):
    help = "Suspend or reactivate a clinic chain: clinic_status <slug> suspend --reason ... | reactivate"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("action", choices=["suspend", "reactivate"])
        parser.add_argument("--reason", default="")

    def handle(self, *args: Any, slug: str, action: str, reason: str, **opts: Any) -> None:
        clinic = Clinic.objects.filter(slug=slug).first()
        if clinic is None:
            raise CommandError(f"no clinic chain with slug {slug!r}")
        try:
            if action == "suspend":
                clinic = clinic_suspend(actor=None, clinic=clinic, reason=reason)
            else:
                clinic = clinic_reactivate(actor=None, clinic=clinic)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"{clinic.slug}: {clinic.status}")
