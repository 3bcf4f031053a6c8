from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.audit.selectors import ChainReport, access_log_chain_verify
from tenants.models import Clinic


def describe(report: ChainReport) -> str:
    if report.ok:
        return f"{report.schema}: OK, {report.rows} rows, head {report.head_seq} {report.head_hash}"
    where = f"seq {report.broken_seq}" if report.broken_seq is not None else "a row"
    row = f" (id {report.broken_id})" if report.broken_id is not None else ""
    return f"{report.schema}: BROKEN at {where}{row}: {report.problem}; {report.rows} rows verified before it"


class Command(BaseCommand):
    help = (
        "Verify the access log's hash chain of every clinic chain (or of --schema): prints OK with the "
        "row count and head, or the first broken link; exits non-zero when a chain is broken."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--schema", action="append", dest="schemas", metavar="SCHEMA", help="repeatable")

    def handle(self, *args: Any, schemas: list[str] | None, **opts: Any) -> None:
        chains = Clinic.objects.exclude(schema_name="public").order_by("schema_name")
        known = list(chains.values_list("schema_name", flat=True))
        if schemas:
            unknown = sorted(set(schemas) - set(known))
            if unknown:
                raise CommandError(f"no clinic chain with schema {', '.join(unknown)}")
            known = [s for s in known if s in schemas]
        broken = []
        for schema in known:
            with schema_context(schema):
                report = access_log_chain_verify()
            if report.ok:
                self.stdout.write(describe(report))
            else:
                self.stderr.write(describe(report))
                broken.append(schema)
        if broken:
            raise CommandError(f"the access log's chain is broken in {', '.join(broken)}")
