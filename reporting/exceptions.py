from __future__ import annotations

from config.errors import PermissionDenied, ValidationFailed
from reporting.error_codes import ReportingErrorCode


class BranchNotInReach(PermissionDenied):
    code = ReportingErrorCode.BRANCH_NOT_IN_REACH
    default_message = "You can see the figures of your own branches only."


class DoctorNotInReach(PermissionDenied):
    code = ReportingErrorCode.DOCTOR_NOT_IN_REACH
    default_message = "You can see your own figures only."


class PeriodInvalid(ValidationFailed):
    code = ReportingErrorCode.PERIOD_INVALID
    default_message = "Choose a period whose end is not before its start, of at most three years."
