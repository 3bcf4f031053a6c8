from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenants.accounts.models import User
from tenants.services import platform_ensure_public


class Command(BaseCommand):
    help = "Create the public site, its domain and the default plans; optionally a platform operator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--operator-email")
        parser.add_argument("--operator-password")

    def handle(self, *args: Any, operator_email: str | None, operator_password: str | None, **opts: Any) -> None:
        platform_ensure_public()
        if operator_email:
            user = User.objects.filter(email__iexact=operator_email).first()
            if user is None:
                User.objects.create_superuser(email=operator_email, password=operator_password)
                self.stdout.write(f"platform operator {operator_email} created")
        self.stdout.write("platform ready")
