"""Gap-free numbers per chain: one counter row per sequence, locked (SELECT ... FOR UPDATE) by the
issuing transaction until it commits. A second issuer waits for the first; a rolled-back issue
rolls the counter back with it, so no number is skipped and none is given twice."""

from __future__ import annotations

from enum import StrEnum

from django.db import transaction

from invoicing.models import Counter


class Sequence(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


PREFIXES = {Sequence.INVOICE: "INV", Sequence.CREDIT_NOTE: "CN"}


def next_number(sequence: Sequence) -> str:
    """The next number of ``sequence`` ("INV-000123"). Must run inside the transaction that uses it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A number is taken inside the transaction that uses it.")
    counter, _ = Counter.objects.select_for_update().get_or_create(name=sequence.value)
    value = counter.next_value
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return f"{PREFIXES[sequence]}-{value:06d}"
