"""The one rule every set-up change keeps: booked appointments are never left outside the time the
change leaves (a shift that ends or narrows, a day that closes). The refusal names how many; the
selectors ``stranded_by_*`` (scheduling.selectors) list them for the pages."""

from __future__ import annotations

from collections.abc import Sized

from scheduling.exceptions import AppointmentsAffected


def refuse_stranding(stranded: Sized, what: str) -> None:
    if len(stranded):
        raise AppointmentsAffected(
            f"{len(stranded)} booked appointment(s) fall in the time {what} removes; move or cancel them first."
        )
