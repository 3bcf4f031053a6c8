"""Error codes of sign-in, API tokens and two-factor authentication."""

from enum import StrEnum


class AccountErrorCode(StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    OTP_REQUIRED = "otp_required"
    OTP_INVALID = "otp_invalid"
    OTP_TOO_SOON = "otp_too_soon"
    TOKEN_LIMIT_REACHED = "token_limit_reached"  # noqa: S105 (a code, not a token)
    TOKEN_NOT_FOUND = "token_not_found"  # noqa: S105 (a code, not a token)
    TOO_MANY_RESETS = "too_many_resets"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a code, not a password)
    LOGIN_LOCKED = "login_locked"
