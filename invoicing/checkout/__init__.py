"""Paying online: the chain's online payment policy, Stripe Checkout for an invoice (deposits and
prepayment tied to a booking's hold), Stripe payments recorded once from webhooks and the return
page, refunds made at Stripe."""
