"""Stripe Connect: a chain's connected account (onboarding, status) and the platform's Connect webhook."""
