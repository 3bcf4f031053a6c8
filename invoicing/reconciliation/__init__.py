"""Reconciliation of the chain's connected Stripe account with the ledger: each night the account's
balance transactions and payouts of the day are read from Stripe and matched with the Stripe
payments and refunds recorded here; what does not match is kept as a mismatch until someone
resolves it."""
