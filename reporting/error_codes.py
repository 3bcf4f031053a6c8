"""Error codes of reporting."""

from enum import StrEnum


class ReportingErrorCode(StrEnum):
    # A filter names a branch whose figures this reader may not see.
    BRANCH_NOT_IN_REACH = "report_branch_not_in_reach"
    # A doctor asked for another doctor's figures.
    DOCTOR_NOT_IN_REACH = "report_doctor_not_in_reach"
    # The period is not one: its end before its start, or longer than reports cover.
    PERIOD_INVALID = "report_period_invalid"
