import os

from .base import *  # noqa: F403

# Playwright's sync API keeps an event loop on the test thread; the ORM calls in browser tests are
# still synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False

# Tests use their own Redis database so a developer's running worker never picks up test tasks.
REDIS_URL = os.environ.get("REDIS_URL_TEST", REDIS_URL.rsplit("/", 1)[0] + "/1")
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL
CACHES["default"]["LOCATION"] = REDIS_URL
SMS_BACKEND = "notifications.sms.LocmemBackend"

# Stripe: obvious test values. tests/conftest.py points STRIPE_API_BASE at the local fake
# (tests/fakes/stripe_server.py) for the whole run.
STRIPE_SECRET_KEY = "sk_test_clinicflow_platform"  # noqa: S105 (a test value)
STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_test_clinicflow"  # noqa: S105 (a test value)
STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens here: without the fake, nothing is reached
STRIPE_MAX_NETWORK_RETRIES = 0
