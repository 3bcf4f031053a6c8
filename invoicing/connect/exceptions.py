from config.errors import ApplicationError, Conflict
from invoicing.connect.error_codes import ConnectErrorCode


class StripeNotConfigured(Conflict):
    code = ConnectErrorCode.STRIPE_NOT_CONFIGURED
    default_message = "Payments through Stripe are not configured on this platform."


class StripeNotConnected(Conflict):
    code = ConnectErrorCode.STRIPE_NOT_CONNECTED
    default_message = "This chain has not connected a Stripe account yet."


class StripeUnavailable(ApplicationError):
    status = 503
    code = ConnectErrorCode.STRIPE_UNAVAILABLE
    default_message = "Stripe could not be reached. Try again in a moment."
