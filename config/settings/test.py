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
# A run spread over processes (pytest-xdist: PYTEST_XDIST_WORKER is "gw0", "gw1", ...) gives each its
# own test database (pytest-django suffixes the name) and its own Redis database, the next ones after
# REDIS_URL_TEST's: the cache, rate limits and the broker of the Celery worker a test starts (which
# inherits the variable) never meet another process's.
if _worker := os.environ.get("PYTEST_XDIST_WORKER", ""):
    _base, _db = REDIS_URL.rsplit("/", 1)
    REDIS_URL = f"{_base}/{int(_db) + int(_worker.removeprefix('gw'))}"
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL
CACHES["default"]["LOCATION"] = REDIS_URL
# In memory, unless a test process is told otherwise (the outbox's Celery worker sends through the
# real Twilio SDK to the fake of tests/fakes/twilio_server.py, whose address it is given).
SMS_BACKEND = os.environ.get("CLINICFLOW_TEST_SMS_BACKEND", "notifications.sms.LocmemBackend")
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-auth-token"  # noqa: S105 (a test value)
TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "http://127.0.0.1:9")  # nothing listens on 9
TWILIO_TIMEOUT_SECONDS = 5.0
NOTIFICATIONS_DISPATCH_INLINE = os.environ.get("CLINICFLOW_NOTIFICATIONS_DISPATCH_INLINE", "1") == "1"
OUTBOX_SENDING_LEASE_SECONDS = int(os.environ.get("CLINICFLOW_OUTBOX_SENDING_LEASE_SECONDS", "120"))

# Stripe: obvious test values. tests/conftest.py points STRIPE_API_BASE at the local fake
# (tests/fakes/stripe_server.py) for the whole run.
STRIPE_SECRET_KEY = "sk_test_clinicflow_platform"  # noqa: S105 (a test value)
STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_test_clinicflow"  # noqa: S105 (a test value)
STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens here: without the fake, nothing is reached
STRIPE_MAX_NETWORK_RETRIES = 0
