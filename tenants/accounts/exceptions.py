"""Errors of sign-in, tokens and two-factor authentication, each with a stable code."""

from __future__ import annotations

from config.error_codes import ErrorCode
from config.errors import ApplicationError
from tenants.accounts.error_codes import AccountErrorCode


class InvalidCredentials(ApplicationError):
    status = 400
    code = AccountErrorCode.INVALID_CREDENTIALS
    default_message = "The e-mail address or password is not correct."


class OtpRequired(ApplicationError):
    status = 401
    code = AccountErrorCode.OTP_REQUIRED
    default_message = "Two-factor sign-in is on for this account: send the code from your authenticator app as otp."


class OtpSetupRequired(ApplicationError):
    status = 401
    code = AccountErrorCode.OTP_REQUIRED
    default_message = "This account must use two-factor sign-in: set it up on the website first."


class OtpInvalid(ApplicationError):
    status = 401
    code = AccountErrorCode.OTP_INVALID
    default_message = "That code is not right. Use the current code of your authenticator app or a recovery code."


class OtpTooSoon(ApplicationError):
    """The authenticator refuses codes for a few seconds after a wrong one (django-otp's throttle);
    a code sent in that time was never checked, so it is not counted as a failure."""

    status = 429
    code = AccountErrorCode.OTP_TOO_SOON
    default_message = "Wait a few seconds after a wrong code, then type the code your app shows now."


class TokenLimitReached(ApplicationError):
    status = 409
    code = AccountErrorCode.TOKEN_LIMIT_REACHED
    default_message = "Too many API tokens are active for this account. Revoke one you no longer use."


class TokenNotFound(ApplicationError):
    status = 404
    code = AccountErrorCode.TOKEN_NOT_FOUND
    default_message = "No such token among yours."


class TooManyResets(ApplicationError):
    status = 429
    code = AccountErrorCode.TOO_MANY_RESETS
    default_message = "Too many password resets were asked for. Wait an hour and try again."


class PasswordInvalid(ApplicationError):
    status = 400
    code = ErrorCode.VALIDATION_ERROR
    default_message = "Some fields are not valid."


class WrongPassword(ApplicationError):
    status = 403
    code = AccountErrorCode.WRONG_PASSWORD
    default_message = "That is not your current password."


class LoginLocked(ApplicationError):
    status = 429
    code = AccountErrorCode.LOGIN_LOCKED
    default_message = "Too many failed sign-in attempts. Try again in 15 minutes or reset your password."
