from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from tenants.services import clinic_create, platform_ensure_public


class Command(BaseCommand):
    help = "Create a clinic chain: schema, domain, profile and owner account."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--timezone", required=True)
        parser.add_argument("--currency", required=True)
        parser.add_argument("--locale", default="en")
        parser.add_argument("--plan")

    def handle(self, *args: Any, **o: Any) -> None:
        platform_ensure_public()
        try:
            fields = ("name", "slug", "owner_email", "timezone", "currency", "locale", "plan")
            clinic, link = clinic_create(**{k: o[k] for k in fields})
        except ApplicationError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
            raise CommandError(f"{exc.code}: {exc.message} {details}".strip()) from exc
        self.stdout.write(f"created {clinic.name} (schema {clinic.schema_name})")
        self.stdout.write(f"owner sets a password at: {link}")
