"""Line and invoice arithmetic in integer minor units: no float, tax rounded half up."""

from __future__ import annotations

from dataclasses import dataclass

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class LineAmounts:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int


def tax_of(taxable_minor: int, rate_bp: int) -> int:
    """Tax on an amount at a rate in basis points, rounded half up to the minor unit."""
    return (taxable_minor * rate_bp + BASIS_POINTS // 2) // BASIS_POINTS


def line_amounts(*, quantity: int, unit_price_minor: int, discount_minor: int, tax_rate_bp: int) -> LineAmounts:
    subtotal = quantity * unit_price_minor
    tax = tax_of(subtotal - discount_minor, tax_rate_bp)
    return LineAmounts(subtotal, discount_minor, tax, subtotal - discount_minor + tax)
