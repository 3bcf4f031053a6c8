from __future__ import annotations

from config.errors import Conflict
from packages.error_codes import PackagesErrorCode


class ProductRetired(Conflict):
    code = PackagesErrorCode.PRODUCT_RETIRED
    default_message = "This package is no longer sold."


class ProductNotAtBranch(Conflict):
    code = PackagesErrorCode.PRODUCT_NOT_AT_BRANCH
    default_message = "This package is not sold at that branch."


class NoPackageSession(Conflict):
    code = PackagesErrorCode.NO_PACKAGE_SESSION
    default_message = "This appointment holds no reserved package session."


class NoPackageLeft(Conflict):
    code = PackagesErrorCode.NO_PACKAGE_LEFT
    default_message = "The patient has no package with a session left that covers this visit."


class PurchaseNotCancellable(Conflict):
    code = PackagesErrorCode.PURCHASE_NOT_CANCELLABLE
    default_message = "This package is already cancelled."
