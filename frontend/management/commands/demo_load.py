from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from frontend.demo import load


class Command(BaseCommand):
    help = "Load the demo clinic chain (idempotent) and print its logins."

    def handle(self, *args: Any, **options: Any) -> None:
        load(out=self.stdout.write)
