from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = False
if SECRET_KEY.startswith("insecure"):
    raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# TLS ends at our proxy, which says so in X-Forwarded-Proto; plain http is redirected to https
# (DJANGO_SECURE_SSL_REDIRECT=0 where the proxy redirects itself).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A proxy that rewrites Host to an inner name passes the public one in X-Forwarded-Host: then the
# chain is found, and Twilio's webhook signatures are checked, by the host the world called.
USE_X_FORWARDED_HOST = env_bool("DJANGO_USE_X_FORWARDED_HOST", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# HSTS for a year on the base domain and every chain's subdomain, and consent to the browsers'
# preload list: every chain lives under the one base domain and is served over https only. The
# directive alone lists nothing (the domain must still be submitted), and a deployment on a shared
# domain that must keep http somewhere turns it off with DJANGO_HSTS_PRELOAD=0.
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
# The outbox's e-mail (notifications/email.py) through SMTP (a provider's relay: SES, Postmark,
# Mailgun...); a provider's HTTP API instead through django-anymail's backend, named here with its
# ANYMAIL settings once the package is added.
EMAIL_HOST = env("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("DJANGO_EMAIL_PORT", "587"))
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = int(env("DJANGO_EMAIL_TIMEOUT", "15"))
# SMS through Twilio's SDK (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_MESSAGING_SERVICE_SID).
SMS_BACKEND = env("CLINICFLOW_SMS_BACKEND", "notifications.sms.TwilioBackend")
