"""Every setting of Clinicflow is defined here; environments only switch values through env vars."""

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
# The public site answers at BASE_DOMAIN, each clinic chain at <slug>.BASE_DOMAIN.
BASE_DOMAIN = env("CLINICFLOW_BASE_DOMAIN", "localhost")
SITE_SCHEME = env("CLINICFLOW_SCHEME", "http")
SITE_PORT = env("CLINICFLOW_PORT", "8000")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *filter(None, env("DJANGO_EXTRA_HOSTS").split(","))]

# --- Tenancy -------------------------------------------------------------------------------------
# Public schema: only what is global. Auth lives in both lists so every clinic chain has its own
# users (a user of chain A does not exist in chain B's schema).
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.accounts",
    # Before admin, so our registration/ templates win over the admin's.
    "frontend",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "axes",
    "rules.apps.AutodiscoverRulesConfig",
]
TENANT_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "tenants.accounts",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "simple_history",
    "axes",
    "tenants.org",
    "tenants.audit",
    "patients",
    "scheduling",
    "packages",
    "invoicing",
    "notifications",
    "reporting",
]
INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "tenants.Clinic"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# django-tenants' router first: it decides which apps migrate in which schema, and that only on the
# primary. Then reporting's reads, to the replica when one is configured (below).
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter", "config.db_router.ReportingRouter")
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# One SET search_path per request instead of one per query.
TENANT_LIMIT_SET_CALLS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

# Two database roles (README, "Database roles"). The owner owns every schema and table: migrations
# and chain provisioning run as the owner (tenants.db.owner_connection). The app serves as the runtime
# role, which reads and writes data but owns nothing and may only INSERT and SELECT the access log, so
# neither a bug nor an injected statement can rewrite the audit trail or drop its triggers. A process
# that migrates connects as the owner throughout with CLINICFLOW_DB_ROLE=owner (make migrate).
DATABASE_ROLES = {
    "owner": {"USER": env("PGUSER", "clinicflow"), "PASSWORD": env("PGPASSWORD", "clinicflow")},
    "runtime": {"USER": env("PGAPPUSER", "clinicflow_app"), "PASSWORD": env("PGAPPPASSWORD", "clinicflow_app")},
}
DATABASE_ROLE = env("CLINICFLOW_DB_ROLE", "runtime")
if DATABASE_ROLE not in DATABASE_ROLES:
    raise RuntimeError(f"CLINICFLOW_DB_ROLE must be one of {sorted(DATABASE_ROLES)}, not {DATABASE_ROLE!r}")
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": env("PGDATABASE", "clinicflow"),
        **DATABASE_ROLES[DATABASE_ROLE],
        "HOST": env("PGHOST", "127.0.0.1"),
        "PORT": env("PGPORT", "54329"),
        "CONN_MAX_AGE": int(env("DB_CONN_MAX_AGE", "60")),
        "TEST": {"NAME": env("PGTESTDATABASE", "test_clinicflow")},
    }
}
# Reporting on a read replica (README): with CLINICFLOW_REPORTING_DB_HOST set, the dashboards' reads
# go to a streaming replica of the primary (reporting.replica, config.db_router), each on the chain's
# own schema as the request's; writes, migrations and reads in a transaction stay on the primary. The
# session is read-only, so a write sent there by mistake fails rather than diverging. Its figures are
# at most the replication lag plus the rollups' refresh interval old. In tests it is the test database
# of default (MIRROR), as a replica of it would be.
if env("CLINICFLOW_REPORTING_DB_HOST"):
    DATABASES["reporting"] = {
        **DATABASES["default"],
        "HOST": env("CLINICFLOW_REPORTING_DB_HOST"),
        # Port, database and role are the primary's unless told: a physical replica has them all.
        **{
            key: env(f"CLINICFLOW_REPORTING_DB_{key}")
            for key in ("PORT", "NAME", "USER", "PASSWORD")
            if env(f"CLINICFLOW_REPORTING_DB_{key}")
        },
        # A replica that does not answer within seconds is left for the primary (reporting.replica).
        "OPTIONS": {"options": "-c default_transaction_read_only=on", "connect_timeout": 3},
        "TEST": {"MIRROR": "default"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Outside everything that may answer (CSRF failures, lock-outs, error pages) so its rule covers them.
    "config.middleware.NoStoreMiddleware",
    "config.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before the session clocks, which leave a word on the sign-in page when they end a session.
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tenants.accounts.middleware.SessionLifetimeMiddleware",
    "tenants.accounts.middleware.TwoFactorMiddleware",
    "tenants.middleware.ClinicStatusMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontend.middleware.ApplicationErrorPageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context.navigation",
            ],
        },
    }
]
WSGI_APPLICATION = "config.wsgi.application"

# --- Identity --------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A signed-in session ends after SESSION_IDLE_TIMEOUT without activity (the desk grid's background
# refresh is not activity) and SESSION_ABSOLUTE_LIFETIME after sign-in, whatever happens
# (tenants.accounts.middleware); the cookie expires with it.
SESSION_IDLE_TIMEOUT = timedelta(minutes=int(env("CLINICFLOW_SESSION_IDLE_MINUTES", "30")))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=int(env("CLINICFLOW_SESSION_HOURS", "12")))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
# What stands in front of the app (config.net.client_ip): 0 = nothing, a number = that many proxies
# of ours appending to X-Forwarded-For, or our proxies' networks ("10.0.0.0/8,192.0.2.7"). The one
# client address for login lock-out, rate limits and the access log.
CLINICFLOW_TRUSTED_PROXIES = env("CLINICFLOW_TRUSTED_PROXIES", "0")
# Two-factor sign-in (django-otp, TOTP + recovery codes): owners always; the chain chooses which
# other staff roles must (ChainSettings.two_factor_roles). OTP_TOTP_ISSUER names the chain in the app.
OTP_TOTP_ISSUER = "tenants.accounts.services.totp_issuer"
TWO_FACTOR_PENDING_SECONDS = 300  # between the password step and the code step of a page sign-in
RECOVERY_CODES = 10
# Password-reset mails per e-mail address and per client address, per hour.
PASSWORD_RESETS_PER_EMAIL_PER_HOUR = 3
PASSWORD_RESETS_PER_ADDRESS_PER_HOUR = 10
INVITATION_TTL = timedelta(days=int(env("CLINICFLOW_INVITATION_DAYS", "7")))

# Login throttling: after AXES_FAILURE_LIMIT failures for one e-mail from one address the login is
# locked for the cool-off period. Attempts are stored per schema, so each chain counts its own.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
# Per (e-mail, address): a stranger failing from elsewhere cannot lock the real person out. Password
# spraying (a few tries at many accounts from one address) meets the address's own budget: after
# LOGIN_FAILURES_PER_ADDRESS failures within the cool-off, every sign-in from it is locked
# (tenants.accounts.lockout.AddressBudgetHandler). Wrong two-factor codes count as failures too.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_FAILURES_PER_ADDRESS = int(env("CLINICFLOW_LOGIN_FAILURES_PER_ADDRESS", "20"))
AXES_HANDLER = "tenants.accounts.lockout.AddressBudgetHandler"
AXES_CLIENT_IP_CALLABLE = "config.net.client_ip"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "tenants.accounts.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "tenants.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes a missing or bad credential a 401.
        "tenants.accounts.auth.ApiTokenAuthentication",
        "tenants.accounts.auth.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    # Generated filters read ids, integers and dates strictly (config.fields): a bad one is a 400.
    "DEFAULT_FILTER_BACKENDS": ["config.fields.StrictFilterBackend"],
    # No OPTIONS introspection: it builds serializers some views do not declare. OPTIONS is a 405.
    "DEFAULT_METADATA_CLASS": None,
    # Bodies are JSON, as the schema says; only the attachment upload takes multipart (its view).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    # JSON only: DRF's browsable HTML pages are a second interface to keep under the CSP.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Adds to every operation the errors it can answer (config.openapi).
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tenants.audit.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens (django-rest-knox): stored as digests, one per client, expiring; tenants.accounts.api.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name, not a secret)
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=int(env("CLINICFLOW_API_TOKEN_DAYS", "30"))),
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinicflow API",
    "DESCRIPTION": "Clinic chain management and appointments. Errors: "
    '{"error": {"code": "...", "message": "...", "fields": {...}}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Deep links put a link inside each operation's toggle button (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_components",
        "tenants.openapi.document_suspension",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "tenants.org.models.Role.choices",
        "StaffRoleEnum": "tenants.org.api.serializers.ROLE_CHOICES",
        "InvitationStatusEnum": "tenants.org.models.Invitation.Status",
        "AppointmentStatusEnum": "scheduling.models.Status",
        "AppointmentSourceEnum": "scheduling.models.Source",
        "StaffBookingSourceEnum": "scheduling.api.serializers.STAFF_SOURCES",
        "CalendarEntryKindEnum": "scheduling.models.Kind",
        "AttachmentKindEnum": "patients.models.Attachment.Kind",
        "ConsentFormKindEnum": "patients.models.ConsentForm.Kind",
        "AccessLogActionEnum": "tenants.audit.models.AccessLog.Action",
        "LeaveDecisionActionEnum": "scheduling.api.leave_views.LEAVE_ACTIONS",
        "InvoiceStatusEnum": "invoicing.models.InvoiceStatus",
        "PaymentStatusEnum": "invoicing.models.PaymentStatus",
        "PaymentMethodEnum": "invoicing.models.PaymentMethod",
        "DeskPaymentMethodEnum": "invoicing.models.DESK_METHODS",
        "MismatchKindEnum": "invoicing.reconciliation.models.MismatchKind",
        "ReconciliationRunStatusEnum": "invoicing.reconciliation.models.RunStatus",
        "DepositKindEnum": "invoicing.checkout.models.DepositKind",
        "CheckoutStatusEnum": "invoicing.checkout.models.CheckoutStatus",
        "FeeRuleEnum": "invoicing.fees.FeeRule",
        "FeeStatusEnum": "invoicing.fees.FeeStatus",
        "FeeKindEnum": "invoicing.fees.FeeKind",
        "MessageKindEnum": "notifications.models.Kind",
        "MessageStatusEnum": "notifications.models.MessageStatus",
        "MessageChannelEnum": "notifications.models.Channel",
        # a code's channel (online booking, patients' contact checks): values without labels
        "CodeChannelEnum": ["email", "sms"],
    },
}

# --- Background work -------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:63799/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 3600
# Periodic tasks are defined in code and fan out over active clinic chains (tenants.tasks).
CELERY_BEAT_SCHEDULE = {
    "spare-schemas": {"task": "tenants.tasks.spares_replenish", "schedule": 600.0},
    "invitations-expire": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 300.0,
        "args": ("tenants.org.tasks.invitations_expire",),
    },
    # Walks each chain's access log and logs an error at the first broken link (tenants.audit.tasks).
    "access-log-chain-check": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": float(env("CLINICFLOW_ACCESS_LOG_CHECK_SECONDS", "3600")),
        "args": ("tenants.audit.tasks.access_log_chain_check",),
    },
    # Used booking challenges and expired sign-in codes that prove nothing any more (patients.portal).
    "spent-codes-purge": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 3600.0,
        "args": ("patients.tasks.spent_codes_purge",),
    },
    # Each chain's previous local day reconciled with its Stripe account (invoicing.tasks; idempotent,
    # hourly so every chain's midnight is met in its own zone, and a missed night is caught up).
    "stripe-reconciliation": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 3600.0,
        "args": ("invoicing.tasks.reconciliation_nightly",),
    },
    # Online checkouts still waiting are read again from Stripe (a paid session whose webhook never
    # came is settled), pending Stripe refunds asked again (invoicing.checkout.tasks; idempotent).
    "online-checkouts-sweep": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 300.0,
        "args": ("invoicing.checkout.tasks.checkouts_sweep",),
    },
    # No-show and late-cancellation fees whose charge task was lost, or whose worker died while
    # charging, are sent again (invoicing.fee_tasks; one charge per attempt by its idempotency key).
    "fee-charges-sweep": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 300.0,
        "args": ("invoicing.fee_tasks.fee_charges_sweep",),
    },
    # Waitlist offers not answered in time expire and their times go to the next patient
    # (scheduling.waitlist_tasks; idempotent). Holds outlive offers by two minutes, so run often.
    "waitlist-offers-expire": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 60.0,
        "args": ("scheduling.waitlist_tasks.waitlist_offers_expire",),
    },
    # Each branch's morning summary to its managers (on the branch's own clock) and patients' follow-up
    # reminders coming due (notifications.schedule_tasks; idempotent by each message's key).
    "scheduled-messages": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 600.0,
        "args": ("notifications.schedule_tasks.scheduled_messages_write",),
    },
    # The outbox: due messages sent, stale 'sending' rows recovered (notifications.tasks; idempotent,
    # safe to overlap). A message due now is also kicked after its commit (outbox.dispatch_on_commit).
    "outbox-dispatch": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 15.0,
        "args": ("notifications.tasks.outbox_dispatch",),
    },
    # Session packages past their expiry are marked expired (packages.tasks; idempotent).
    "packages-expire": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 3600.0,
        "args": ("packages.tasks.packages_expire",),
    },
    # The dashboards' rollups: cells changed since the last run computed again (reporting.tasks;
    # idempotent, one run at a time per chain), and the weeks around today repaired whatever changed.
    "reporting-rollups-refresh": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": float(env("CLINICFLOW_ROLLUPS_REFRESH_SECONDS", "15")),
        "args": ("reporting.tasks.rollups_refresh",),
    },
    "reporting-rollups-repair": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 86400.0,
        "args": ("reporting.tasks.rollups_repair",),
    },
    # Visits nobody checked in past the chain's grace period marked no-shows by the system
    # (scheduling.tasks; idempotent, and the desk's check-in at the same moment has one winner).
    "no-shows-mark": {
        "task": "tenants.tasks.for_each_clinic",
        "schedule": 180.0,
        "args": ("scheduling.tasks.no_shows_mark",),
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Keys carry the schema name so one chain never reads another chain's cache entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

# --- Security headers --------------------------------------------------------------------------------
# No inline script or style anywhere: htmx and every page script load from static files, and htmx
# itself is told (meta htmx-config in base.html) not to inject styles or evaluate code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Production switches these on (config/settings/production.py); off here so http://*.localhost works.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)

# --- Stripe Connect ---------------------------------------------------------------------------------
# The platform's own secret key: every call on a chain's behalf adds that chain's connected account
# (the Stripe-Account header); no chain's key is ever stored. Empty: payments are not configured.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
# The signing secret of the platform's one Connect webhook endpoint (POST /stripe/connect/webhook/).
STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET")
# Where the SDK sends its requests: None is Stripe itself; tests point it at a local fake.
STRIPE_API_BASE: str | None = env("STRIPE_API_BASE") or None
# The SDK retries a failed request (with the same idempotency key) this many times.
STRIPE_MAX_NETWORK_RETRIES = int(env("STRIPE_MAX_NETWORK_RETRIES", "2"))
# Which Connect account type onboarding creates (docs/architecture.md, Money).
STRIPE_CONNECT_ACCOUNT_TYPE = "express"

# --- Mail, i18n, static ----------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", "Clinicflow <no-reply@clinicflow.localhost>")
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# Dates and times read one way per language: the pages name DATE_FORMAT, SHORT_DATE_FORMAT, TIME_FORMAT, ...
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Browser libraries come from npm (package.json, `npm ci` in infra/bootstrap.sh): their dist folders
# are served as they ship, under vendor/, so the pages load them from this site (no CDN, CSP 'self').
STATICFILES_DIRS = [
    ("vendor/event-calendar", BASE_DIR / "node_modules" / "@event-calendar" / "build" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
MEDIA_ROOT = Path(env("CLINICFLOW_MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_one_line": {"()": "config.log_filters.RefusalsOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    # The Twilio SDK logs every request's headers at INFO. A refused request is one line, no traceback.
    "loggers": {
        "axes": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},
        "django.request": {"filters": ["refusals_one_line"]},
    },
}
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
# User.email is unique case-insensitively (a UniqueConstraint on Lower(email)), which the check
# does not recognise.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
SMS_BACKEND = env("CLINICFLOW_SMS_BACKEND", "notifications.sms.ConsoleBackend")
# Twilio (notifications/sms.py TwilioBackend, CLINICFLOW_SMS_BACKEND=notifications.sms.TwilioBackend):
# the platform's account; each chain may name its own Messaging Service (MessagingSettings), else this one.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID")
# Where the SDK sends its requests: None is Twilio itself; tests and the bench point it at a local fake.
TWILIO_API_BASE: str | None = env("TWILIO_API_BASE") or None
TWILIO_TIMEOUT_SECONDS = float(env("TWILIO_TIMEOUT_SECONDS", "15"))
# The outbox (notifications/outbox.py): rows claimed per batch; how long a claimed row may stay
# 'sending' before the recovery sweep asks the provider about it (a batch begins no provider call
# after half of it, and half of it is longer than any call may take: TWILIO_TIMEOUT_SECONDS,
# EMAIL_TIMEOUT); the waits before each retry of a transient failure (minutes),
# after the last of which the message is marked failed.
OUTBOX_BATCH_SIZE = int(env("CLINICFLOW_OUTBOX_BATCH_SIZE", "500"))
OUTBOX_SENDING_LEASE_SECONDS = int(env("CLINICFLOW_OUTBOX_SENDING_LEASE_SECONDS", "120"))
OUTBOX_RETRY_MINUTES = (1, 5, 30, 120, 360)
# A batch's SMS are handed to the provider over this many threads (each call mostly waits).
OUTBOX_SEND_THREADS = int(env("CLINICFLOW_OUTBOX_SEND_THREADS", "4"))
# One dispatch run sends batch after batch for at most this long, then leaves the rest to the next.
OUTBOX_DISPATCH_SECONDS = float(env("CLINICFLOW_OUTBOX_DISPATCH_SECONDS", "20"))
# True: a message due now is sent in the committing process right after its commit (tests), not by
# a worker's task.
NOTIFICATIONS_DISPATCH_INLINE = env_bool("CLINICFLOW_NOTIFICATIONS_DISPATCH_INLINE", False)
# The same user seeing the same rows on the same page again within this many seconds (the desk's
# live refresh) is coalesced into the first access-log row; 0 logs every time.
ACCESS_LOG_COALESCE_SECONDS = int(env("CLINICFLOW_ACCESS_LOG_COALESCE_SECONDS", "60"))
# Patient portal sign-in codes: how long they live, how many wrong tries, how many per hour. Counts
# are per (identifier, client address) so a stranger cannot use up someone else's quota; the
# identifier's own ceilings are higher and only bound what many addresses together can do
# (patients.portal explains the trade-off).
PORTAL_CODE_MINUTES = 10
PORTAL_CODE_ATTEMPTS = 5  # wrong tries per (identifier, address) and code
PORTAL_CODE_ATTEMPTS_TOTAL = 20  # wrong tries at one code from all addresses together
PORTAL_CODES_PER_IDENTIFIER_PER_HOUR = 3  # per (identifier, address)
PORTAL_CODES_PER_IDENTIFIER_CEILING_PER_HOUR = 10  # per identifier, from all addresses
PORTAL_CODES_PER_ADDRESS_PER_HOUR = 20
PORTAL_WRONG_CODES_PER_ADDRESS_PER_HOUR = 20  # across all identifiers: guessing at many people
# Clinical access comes from real care (patients.rules): a visit (checked in or started) opens the
# record to its doctor for CARE_PERIOD after it; a booking someone else made with the doctor opens it
# until CARE_BOOKING_GRACE after the appointment's end.
CARE_PERIOD = timedelta(days=int(env("CLINICFLOW_CARE_PERIOD_DAYS", "730")))
CARE_BOOKING_GRACE = timedelta(hours=int(env("CLINICFLOW_CARE_BOOKING_GRACE_HOURS", "24")))
# An online booking's manage link works until this long after the visit ends, unless revoked sooner.
BOOKING_LINK_GRACE = timedelta(hours=int(env("CLINICFLOW_BOOKING_LINK_GRACE_HOURS", "24")))
# Migrated spare schemas kept ready so that provisioning a chain is a rename (tenants.services).
CLINICFLOW_SPARE_SCHEMAS = int(env("CLINICFLOW_SPARE_SCHEMAS", "2"))
# Where pg_dump and psql are, for copying the template schema into a new chain's (tenants.schema_template):
# the server's own version first (PG_BIN, as infra/env.sh sets it), then the PATH.
CLINICFLOW_PG_PATH = os.pathsep.join(p for p in (env("PG_BIN", ""), os.environ.get("PATH", "")) if p)
