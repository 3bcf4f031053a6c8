"""Online payments in the API: the chain's online payment policy (owners), and online booking's
confirmation when the chain asks a deposit or prepayment (anonymous, like the rest of online
booking: the answer is Stripe's payment page, and the booking is made once the payment is recorded)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.errors import NotFound
from config.net import client_ip
from config.openapi import errors
from invoicing.checkout.models import CheckoutStatus, DepositKind, OnlineCheckout, OnlinePaymentPolicy
from invoicing.checkout.policy import online_payment_policy_get, online_payment_policy_set, online_payments_possible
from invoicing.checkout.services import checkout_return, online_booking_checkout
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from patients.exceptions import CodeInvalid, TooManyTries
from scheduling.api.online import OnlineConfirmIn
from scheduling.exceptions import HoldConfirmed, HoldExpired, HoldReleased
from tenants.authz import authorize


class OnlinePaymentPolicyIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DepositKind.choices)
    amount_minor = serializers.IntegerField(min_value=0, max_value=10**12, default=0)
    percent_bp = serializers.IntegerField(min_value=0, max_value=10_000, default=0)
    ask_for_card = serializers.BooleanField(default=False)
    refund_deposit_on_timely_cancel = serializers.BooleanField(default=False)
    no_show_deposit_after = serializers.IntegerField(
        min_value=0,
        max_value=20,
        required=False,
        help_text="Ask a deposit of patients with this many no-shows in the no-show period (0: never). "
        "Left out: unchanged.",
    )
    no_show_deposit_minor = serializers.IntegerField(
        min_value=0,
        max_value=10**12,
        required=False,
        help_text="The deposit those patients pay online (at most the price), even for a service that asks none.",
    )


class OnlinePaymentPolicyOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DepositKind.choices)
    amount_minor = serializers.IntegerField()
    percent_bp = serializers.IntegerField()
    ask_for_card = serializers.BooleanField()
    refund_deposit_on_timely_cancel = serializers.BooleanField()
    no_show_deposit_after = serializers.IntegerField(help_text="0: no deposit is asked for no-shows.")
    no_show_deposit_minor = serializers.IntegerField()
    applies = serializers.BooleanField(help_text="False while the chain's Stripe account cannot take payments.")


def _policy_out(policy: OnlinePaymentPolicy) -> dict[str, object]:
    return {
        "kind": policy.kind,
        "amount_minor": policy.amount_minor,
        "percent_bp": policy.percent_bp,
        "ask_for_card": policy.ask_for_card,
        "refund_deposit_on_timely_cancel": policy.refund_deposit_on_timely_cancel,
        "no_show_deposit_after": policy.no_show_deposit_after,
        "no_show_deposit_minor": policy.no_show_deposit_minor,
        "applies": online_payments_possible(),
    }


class OnlinePaymentPolicyApi(APIView):
    @extend_schema(
        summary="Read what online booking asks to be paid (the chain's policy)", responses=OnlinePaymentPolicyOut
    )
    def get(self, request: Request) -> Response:
        authorize(request.user, "invoicing.manage_online_payments")
        return Response(OnlinePaymentPolicyOut(_policy_out(online_payment_policy_get())).data)

    @extend_schema(
        summary="Set what online booking asks to be paid: nothing, a fixed deposit, a percentage, or all",
        request=OnlinePaymentPolicyIn,
        responses=OnlinePaymentPolicyOut,
    )
    def put(self, request: Request) -> Response:
        v = validated(OnlinePaymentPolicyIn, request)
        policy = online_payment_policy_set(actor=request.user, **v)
        return Response(OnlinePaymentPolicyOut(_policy_out(policy)).data)


class CheckoutOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=CheckoutStatus.choices)
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField()
    pay_url = serializers.CharField(help_text="Stripe's payment page (while the checkout waits for payment).")
    return_token = serializers.CharField(help_text="The secret of this checkout's return address.")


class BookingCheckoutOut(serializers.Serializer):
    booked = serializers.BooleanField(help_text="True: nothing was asked, the time is booked (manage_url).")
    manage_url = serializers.CharField(allow_blank=True)
    checkout = CheckoutOut(allow_null=True)
    notice = serializers.CharField(allow_blank=True)


def _checkout_out(checkout: OnlineCheckout) -> dict[str, object]:
    return {
        "status": checkout.status,
        "amount_minor": checkout.amount_minor,
        "currency": checkout.currency,
        "expires_at": checkout.expires_at,
        "pay_url": checkout.session_url if checkout.status == CheckoutStatus.OPEN else "",
        "return_token": checkout.return_token,
    }


class _Anonymous(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []


class OnlineBookingCheckoutApi(_Anonymous):
    @extend_schema(
        summary="Confirm a held time with the code, paying the chain's deposit or prepayment (online booking)",
        description=(
            "Anonymous. Like confirming a hold, and when the chain asks nothing online it books at once "
            "(`booked`, `manage_url`). When it asks a deposit or prepayment, the visit's invoice is issued, the "
            "hold is kept while Stripe's payment page is open (`checkout.pay_url`, `expires_at`), and the time "
            "is booked once the payment is recorded; unpaid, the time is released. When it asks nothing now but "
            "a card (and the patient has none on file), the checkout saves one on Stripe's page and charges "
            "nothing (`checkout.amount_minor` 0; `card_saved` once done, and the time is booked). Going through "
            "this again while a payment waits answers the same checkout."
        ),
        request=OnlineConfirmIn,
        responses={
            201: BookingCheckoutOut,
            **errors(
                CodeInvalid,
                TooManyTries,
                HoldExpired,
                HoldReleased,
                HoldConfirmed,
                StripeNotConnected,
                StripeUnavailable,
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(OnlineConfirmIn, request)
        outcome = online_booking_checkout(
            hold_id=pk,
            hold_token=v["hold_token"],
            first_name=v["first_name"],
            last_name=v["last_name"],
            challenge=v["challenge"],
            code=v["code"],
            ip=client_ip(request._request),
            request=request._request,
        )
        manage = ""
        if outcome.booking is not None:
            manage = request.build_absolute_uri(reverse("book-manage", kwargs={"token": outcome.booking.manage_token}))
        body = {
            "booked": outcome.booking is not None,
            "manage_url": manage,
            "checkout": _checkout_out(outcome.checkout) if outcome.checkout else None,
            "notice": outcome.notice,
        }
        return Response(BookingCheckoutOut(body).data, status=201)


class OnlineCheckoutApi(_Anonymous):
    @extend_schema(
        summary="Where an online payment stands, read again from Stripe (the visitor's return)",
        description="Anonymous: the return token is the secret. A paid booking's answer carries a new booking link.",
        responses={200: BookingCheckoutOut, **errors(NotFound)},
    )
    def get(self, request: Request, token: str) -> Response:
        back = checkout_return(token=token)
        manage = (
            request.build_absolute_uri(reverse("book-manage", kwargs={"token": back.manage_token}))
            if back.manage_token
            else ""
        )
        body = {
            "booked": bool(back.manage_token),
            "manage_url": manage,
            "checkout": _checkout_out(back.checkout),
            "notice": "",
        }
        return Response(BookingCheckoutOut(body).data)
