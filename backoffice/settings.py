"""One settings module, driven by the environment (django-environ).

With nothing set the app runs on the embedded default: a SQLite file, background jobs on a
few threads of the web process (no broker), a local-memory cache, DEBUG off and a secret key
generated once and kept in ``.tmp/secret_key``. ``DJANGO_ENV=production`` switches on the
deployment hardening that ``manage.py check --deploy`` looks for.
"""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

# Off unless asked for (DEBUG=1, `make run DEBUG=1`): its error pages list every URL and setting.
DEBUG = env.bool("DEBUG", default=False)


def _local_secret_key(path: Path) -> str:
    """The embedded default's key: generated on first start and kept (mode 600) so sessions survive a
    restart and no two checkouts share one. Written whole to a temporary file, then linked into place,
    which only the first process to get there does: processes starting together agree on one key and
    never read a half-written one. A checkout that cannot be written gets a key per process."""
    try:
        if key := path.read_text().strip():
            return key
    except FileNotFoundError:
        pass
    except OSError:
        return secrets.token_urlsafe(50)
    key = secrets.token_urlsafe(50)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            if existing := path.read_text().strip():
                return existing
            os.replace(tmp, path)  # an empty file (a crash while writing it before this code): replace it
    except OSError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return key


if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key(
        Path(env.str("SECRET_KEY_FILE", default=str(BASE_DIR / ".tmp" / "secret_key")))
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
# Scripts only from this site; inline style attributes stay allowed (they cannot run code).
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
)
# Temporary sub-accounts (with an expiry) do not count against the seat quota, so their length is capped.
TEMPORARY_ACCESS_MAX_DAYS = env.int("TEMPORARY_ACCESS_MAX_DAYS", default=90)
# Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated); none by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_htmx",
    "django_celery_beat",
    "backoffice",
]
# The domain apps, in navigation order. Each may ship ``<app>/_nav.html``, which the base layout
# includes in the sidebar (the links inside ask ``{% can %}`` before showing themselves).
DOMAIN_APPS = ["accounts", "catalog", "orders", "promotions", "payouts", "analytics"]
INSTALLED_APPS += DOMAIN_APPS

# How the kernel (backoffice/) reaches the tenancy app without importing it: by name, as Django does
# with AUTH_USER_MODEL. The accounts app owns shops, memberships, audit entries and 2FA.
TENANT_MODEL = "accounts.Shop"
AUDIT_ENTRY_MODEL = "accounts.AuditEntry"
# (user_id, shop_id) -> (membership with shop and role, permissions, scopes) or None
AUTHZ_ACCESS_READER = "accounts.selectors.access_read"
# actor -> True when the shop requires 2FA of this member and they have not enrolled
AUTHZ_TWO_FACTOR_REQUIRED = "accounts.security.two_factor_required"
# Models whose columns shape the cached access entries (a deploy that changes them must not read old ones).
ACCESS_CACHE_MODELS = ["accounts.ApiToken", "accounts.Membership", "accounts.Role", "accounts.Shop", "accounts.User"]
# request -> has it re-authenticated lately (password or one-time code; backoffice.reauth), and the page that asks.
REAUTH_CHECK = "accounts.security.recently_reauthenticated"
REAUTH_PAGE = "accounts:reauth"
# The project's front page (where a signed-in user lands).
HOME_VIEW = "accounts.web.views.home"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "backoffice.middleware.RequestIdMiddleware",
    "backoffice.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "backoffice.middleware.RejectNulCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.web.history.SessionSeenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # axes must be last so it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backoffice.tenancy.context_processors.shop_context",
                "accounts.context_processors.member_context",
            ],
            "builtins": ["backoffice.authz.templatetags.authz"],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a worker and the web process at once: WAL lets readers run beside the
    # writer, IMMEDIATE transactions take the write lock up front (no "database is locked" half-way
    # through), and a busy timeout makes a second writer wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
# Keep a worker's connection between requests (opening one costs more than most pages); a connection
# that went away is noticed and replaced before it is used.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# guardian: we never use anonymous object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# axes: lock a username+IP pair after repeated failures, on the browser and the token endpoint.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_VERBOSE = False
# The same client address as audit entries and rate limits (X-Forwarded-For only from TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "backoffice.middleware.client_ip"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

OTP_TOTP_ISSUER = "Seller Back-office"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文")), ("ru", _("Русский"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Static files are served by whitenoise with DEBUG on or off; outside production straight from the
# app and project static folders (no collectstatic step before `make run`).
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:  # so STATIC_ROOT, filled only by collectstatic, may be missing without a warning
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="backoffice@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "backoffice.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "backoffice.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "backoffice.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backoffice.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["backoffice.api.throttling.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="1200/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Seller back-office API",
    "DESCRIPTION": "Shops, staff, roles, audit and (later) catalog, orders, promotions, payouts, support, analytics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ActionEnum": "backoffice.authz.actions.ACTION_CODES",
        "ProductStatusEnum": "catalog.models.Product.Status",
        "LowStockAlertStatusEnum": "catalog.models.LowStockAlert.Status",
        "ImportStatusEnum": "catalog.models.ImportJob.Status",
        "ImportKindEnum": "catalog.models.ImportJob.Kind",
        "StockMovementKindEnum": "catalog.models.StockMovement.Kind",
        "StockAdjustmentReasonEnum": "catalog.services.ADJUSTMENT_REASON_CODES",
        "OrderStateEnum": "orders.models.Order.State",
        "ReturnStateEnum": "orders.models.Return.State",
        "OrderCancelReasonEnum": "orders.models.Order.CancelReason",
        "StatementJobKindEnum": "payouts.models.StatementJob.Kind",
    },
}

# Celery: Redis when configured (`make worker` runs the tasks). With no broker, what backoffice.jobs
# queues (imports, exports) runs on BACKGROUND_THREADS threads of the web process, so the request that
# starts a job returns at once and its page polls the progress; a task called directly runs eagerly.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
BACKGROUND_THREADS = env.int("BACKGROUND_THREADS", default=0 if CELERY_BROKER_URL else 2)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "expire-temporary-members": {
        "task": "accounts.tasks.expire_temporary_members",
        "schedule": timedelta(minutes=5),
    },
    "scan-low-stock": {
        "task": "catalog.tasks.scan_low_stock",
        "schedule": timedelta(minutes=10),
    },
    "scan-overdue-orders": {
        "task": "orders.tasks.scan_overdue",
        "schedule": timedelta(minutes=5),
    },
    "notify-expiring-members": {
        "task": "accounts.tasks.notify_expiring_members",
        "schedule": timedelta(hours=1),
    },
    "apply-promotion-windows": {
        "task": "promotions.tasks.apply_promotion_windows",
        "schedule": timedelta(minutes=5),
    },
    "refresh-promotion-effects": {
        "task": "promotions.tasks.refresh_promotion_effects",
        "schedule": timedelta(minutes=15),
    },
    "payouts-settle": {
        "task": "payouts.tasks.settle",
        "schedule": timedelta(hours=1),
    },
    "payouts-verify": {
        "task": "payouts.tasks.verify",
        "schedule": crontab(hour=2, minute=30),  # nightly (UTC)
    },
    "analytics-schedules-due": {
        "task": "analytics.tasks.schedules_due",
        "schedule": timedelta(minutes=5),
    },
}

# Analytics: a report run is stopped (failed, with the reason) after the soft limit and its worker process killed
# at the hard one (seconds); at most this many runs are pending or running per shop (409 too_many_runs).
ANALYTICS_REPORT_SOFT_TIME_LIMIT = env.int("ANALYTICS_REPORT_SOFT_TIME_LIMIT", default=300)
ANALYTICS_REPORT_TIME_LIMIT = env.int("ANALYTICS_REPORT_TIME_LIMIT", default=330)
ANALYTICS_MAX_ACTIVE_RUNS = env.int("ANALYTICS_MAX_ACTIVE_RUNS", default=3)

# Payouts: the marketplace's commission on a delivered order, by shop tier (a platform setting; a fraction of
# the order total, as a string so it is read as an exact Decimal).
PAYOUTS_COMMISSION_RATES = {"basic": "0.10", "silver": "0.08", "gold": "0.06", "platinum": "0.05"}
# How far back (days) each settlement run re-reads the ad statistics, so a day the integration re-pushed is
# charged its difference (older re-pushes are not charged again).
PAYOUTS_AD_SPEND_LOOKBACK_DAYS = env.int("PAYOUTS_AD_SPEND_LOOKBACK_DAYS", default=62)

# Re-authentication (password or OTP) stays fresh this long before sensitive actions.
REAUTH_MAX_AGE = timedelta(minutes=env.int("REAUTH_MAX_AGE_MINUTES", default=10))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
