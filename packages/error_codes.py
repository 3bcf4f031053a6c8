"""Error codes of session packages."""

from enum import StrEnum


class PackagesErrorCode(StrEnum):
    # The product is retired: it is no longer sold (purchases already made are still used).
    PRODUCT_RETIRED = "package_product_retired"
    # The product is not sold at the branch asked for.
    PRODUCT_NOT_AT_BRANCH = "package_product_not_at_branch"
    # The appointment is not booked against a package, or its session is already settled.
    NO_PACKAGE_SESSION = "no_package_session"
    # No valid package of the patient covers the visit with a session left (or the visit is no longer booked).
    NO_PACKAGE_LEFT = "no_package_left"
    # The purchase is already cancelled.
    PURCHASE_NOT_CANCELLABLE = "package_not_cancellable"
