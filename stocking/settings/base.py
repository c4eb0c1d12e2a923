"""Settings read from the environment (and an optional .env file), shared by every settings module.

Safe by default: this is what manage.py, wsgi, asgi and celery load when DJANGO_SETTINGS_MODULE is not set,
so DEBUG is off and SECRET_KEY is required. development.py (`make demo`, local work) turns DEBUG on with a
development key; production.py adds the HTTPS-only settings and refuses to start without its secrets.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set the SECRET_KEY environment variable to a long random string, or for local work select "
        "DJANGO_SETTINGS_MODULE=stocking.settings.development (DEBUG on, a development-only key)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # runserver serves HTTP and WebSockets in development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "stocking",
    "marketdata",
    "portfolio",
    "trading",
    "payments",
    "leagues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kernel.limits.BodySizeLimitMiddleware",  # before anything reads a body
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # after sessions, before common (docs/architecture.md §14)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kernel.htmx.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy header, see the end of this file
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "stocking.urls"
WSGI_APPLICATION = "stocking.wsgi.application"
ASGI_APPLICATION = "stocking.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "stocking.context_processors.account_stream",
                "stocking.context_processors.market_status",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
# Keep connections between requests (opening one costs more than a simple query); checked before reuse.
_db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # Writers take the lock at BEGIN, so concurrent read-modify-write
        # transactions queue on the busy timeout instead of failing on upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not shared-cache memory) so threads in tests really lock.
    _db["TEST"] = {"NAME": env("SQLITE_TEST_NAME", default=str(BASE_DIR / ".test-db.sqlite3"))}
elif _db["ENGINE"] in ("django.db.backends.mysql",):
    _db["OPTIONS"] = {
        "charset": "utf8mb4",
        # A row-lock wait gives up after DB_LOCK_WAIT_SECONDS (answered 503 account_busy), never hangs.
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO', "
        f"innodb_lock_wait_timeout={env.int('DB_LOCK_WAIT_SECONDS', default=10)}",
        "isolation_level": "read committed",
    }
    _db["TEST"] = {
        "CHARSET": "utf8mb4",
        "COLLATION": "utf8mb4_unicode_ci",
        "NAME": env("MARIADB_TEST_NAME", default=None),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Channels, Celery ----------------------------------------
# The demo launcher starts an embedded Redis and exports REDIS_URL
# (unix:///path.sock); everything below follows that one URL.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")


def _celery_broker_from(redis_url: str) -> str:
    # kombu spells a unix socket "redis+socket://" rather than redis-py's "unix://".
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="stocking"),
    }
}


def channel_layer_host(url: str) -> dict:
    # channels_redis waits on a channel with 5 s blocking reads; redis-py 8 times reads out after
    # 5 s by default, which killed every socket with a layer channel after about 5 s idle.
    return {"address": url, "socket_timeout": 15}


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [channel_layer_host(REDIS_URL)], "prefix": env("CHANNEL_PREFIX", default="asgi")},
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=_celery_broker_from(REDIS_URL))
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "Asia/Seoul"
CELERY_BEAT_SCHEDULE: dict = {
    "expire-day-orders": {"task": "trading.tasks.expire_day_orders", "schedule": 60.0},
    "reconcile-payments": {"task": "payments.tasks.reconcile_pending_payments", "schedule": 300.0},
    # Equity snapshots (docs/architecture.md §13): 15:40 KST after the close (the task skips KRX holidays), or 00:05 KST
    # every day for the day that just ended when trading runs around the clock.
    "snapshot-accounts": {
        "task": "portfolio.tasks.snapshot_accounts",
        "schedule": crontab(hour=15, minute=40, day_of_week="mon-fri")
        if env.bool("MARKET_HOURS_ENFORCED", default=False)
        else crontab(hour=0, minute=5),
    },
    # League standings with today at live prices (docs/architecture.md §16); after each snapshot they are
    # recomputed from it anyway.
    "refresh-running-leagues": {
        "task": "leagues.tasks.refresh_running_leagues",
        "schedule": float(env.int("LEAGUE_STANDINGS_REFRESH_SECONDS", default=300)),
    },
}

# --- Auth --------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "stocking.validators.VisiblePasswordValidator"},  # 12 spaces are 12 characters, not a password
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Lockout: 5 failures on one username from one address lock that pair for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Account lockout (docs/architecture.md §11), counted per username *and* address together: listing them
# separately ORs them, so one user's failures locked out everyone behind that address (an office,
# a NAT, a proxy). A combination also keeps a stranger's guesses from locking the owner out everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind nginx every login would come from the proxy and one username's lockout would hit everyone: the
# address is read as DRF's throttles read it, X-Forwarded-For from the right past NUM_PROXIES trusted proxies.
AXES_CLIENT_IP_CALLABLE = "kernel.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["kernel.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "kernel.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "kernel.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "kernel.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env("THROTTLE_AUTH", default="30/min"),
        "auth_refresh": env("THROTTLE_AUTH_REFRESH", default="30/min"),  # per address, like "auth"
        "orders": env("THROTTLE_ORDERS", default="200/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    # `?format=csv` is ours (ledger export), not DRF's renderer switch
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "StocKing API",
    "DESCRIPTION": (
        "Paper trading on live KOSPI/KOSDAQ prices. Authenticate with `POST /api/v1/auth/token` "
        "and send `Authorization: Bearer <access>`. Every error has the shape "
        '`{"error": {"code", "message", "details"}}`. Money is whole won (KRW).'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- I18N / time ---------------------------------------------------------------
# Korean first (docs/architecture.md §14): ko by default and for any language we do not offer; en by the switcher's
# cookie
# or Accept-Language.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    # No collectstatic needed while developing or testing.
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# --- Market data & trading ------------------------------------------------------
MARKETDATA_SOURCE = env("MARKETDATA_SOURCE", default="simulator")
TOSS_WS_URL = env("TOSS_WS_URL", default="")  # required when MARKETDATA_SOURCE=toss
TOSS_WS_HEADERS = env.json("TOSS_WS_HEADERS", default={})
# Relay (`manage.py run_relay`, marketdata/relay/). Secrets (headers, guest key) are never defaulted or logged.
TOSS_WS_ORIGIN = env("TOSS_WS_ORIGIN", default="https://www.tossinvest.com")
TOSS_GUEST_KEY_URL = env("TOSS_GUEST_KEY_URL", default="")  # optional: fetch a guest authorization per connection
TOSS_DESTINATION_ENCODING = env("TOSS_DESTINATION_ENCODING", default="plain")  # or percent-slashes (RabbitMQ)
TOSS_HEARTBEAT_MS = env("TOSS_HEARTBEAT_MS", default="5000,5000")  # STOMP heart-beat offer: send,receive
TOSS_CONNECT_TIMEOUT_SECONDS = env.float("TOSS_CONNECT_TIMEOUT_SECONDS", default=10.0)
TOSS_SUBSCRIBE_ACTIVE_STOCKS = env.bool("TOSS_SUBSCRIBE_ACTIVE_STOCKS", default=True)  # when the set is empty
SIMULATOR_SEED = env.int("SIMULATOR_SEED", default=None)  # unset: a fresh seed per run, logged
SIMULATOR_TICKS_PER_SECOND = env.float("SIMULATOR_TICKS_PER_SECOND", default=300.0)
SIMULATOR_DAY_SECONDS = env.float("SIMULATOR_DAY_SECONDS", default=23_400.0)  # one simulated session (6.5 h)
RELAY_INDICES = env.bool("RELAY_INDICES", default=True)  # live KOSPI/KOSDAQ: computed, or the feed's index topics
RELAY_INDEX_INTERVAL_SECONDS = env.float("RELAY_INDEX_INTERVAL_SECONDS", default=0.5)  # computed values, per index
REPLAY_SPEED = env("REPLAY_SPEED", default="1.0")  # "max", or a multiple of the recorded speed
RELAY_BACKOFF_BASE_SECONDS = env.float("RELAY_BACKOFF_BASE_SECONDS", default=1.0)
RELAY_BACKOFF_CAP_SECONDS = env.float("RELAY_BACKOFF_CAP_SECONDS", default=60.0)
RELAY_HEALTH_INTERVAL_SECONDS = env.float("RELAY_HEALTH_INTERVAL_SECONDS", default=3.0)
RELAY_BATCH_MAX = env.int("RELAY_BATCH_MAX", default=500)  # ticks per Redis pipeline at most
RELAY_RECORD_CANDLES = env.bool("RELAY_RECORD_CANDLES", default=True)  # the relay builds 1-minute candles
RELAY_CANDLES_INTERVAL_SECONDS = env.float("RELAY_CANDLES_INTERVAL_SECONDS", default=1.0)  # between writes
RELAY_POLL_SECONDS = env.float("RELAY_POLL_SECONDS", default=0.2)
RELAY_RECEIPT_TIMEOUT_SECONDS = env.float("RELAY_RECEIPT_TIMEOUT_SECONDS", default=5.0)
RELAY_DISCONNECT_TIMEOUT_SECONDS = env.float("RELAY_DISCONNECT_TIMEOUT_SECONDS", default=2.0)
PRICE_STALE_SECONDS = env.int("PRICE_STALE_SECONDS", default=60)
RELAY_HEALTH_MAX_AGE_SECONDS = env.float("RELAY_HEALTH_MAX_AGE_SECONDS", default=30.0)  # older: daemon/health 503
RELAY_COMMAND_TIMEOUT_SECONDS = env.float("RELAY_COMMAND_TIMEOUT_SECONDS", default=30.0)  # staff subscribe: 504 after
RELAY_COMMAND_POLL_SECONDS = env.float("RELAY_COMMAND_POLL_SECONDS", default=0.5)
REALTIME_MULTIPLE_MAX_CODES = env.int("REALTIME_MULTIPLE_MAX_CODES", default=100)  # stock_codes per request
PRICES_FANOUT = env("PRICES_FANOUT", default="local")  # or channel_layer (measured slower: bench/ws_fanout.py)
WS_PRICES_MAX_CODES = env.int("WS_PRICES_MAX_CODES", default=200)  # codes one /ws/prices/ socket may follow
WS_PRICES_BATCH_SECONDS = env.float("WS_PRICES_BATCH_SECONDS", default=0.05)  # batching sockets: ≤ 20 frames/s
WS_MAX_SOCKETS_PER_USER = env.int("WS_MAX_SOCKETS_PER_USER", default=10)  # private sockets; more: closed 4429
WS_MAX_SOCKETS_PER_ADDRESS = env.int("WS_MAX_SOCKETS_PER_ADDRESS", default=50)  # private sockets per client address
WS_AUTH_RECHECK_SECONDS = env.float("WS_AUTH_RECHECK_SECONDS", default=60.0)  # logout/revocation closes within this
MARKET_HOURS_ENFORCED = env.bool("MARKET_HOURS_ENFORCED", default=False)
COMMISSION_RATE = Decimal(env("COMMISSION_RATE", default="0.00015"))
SELL_TAX_RATE = Decimal(env("SELL_TAX_RATE", default="0.0020"))
STARTING_CASH = Decimal(env("STARTING_CASH", default="10000000"))
ANALYTICS_RISK_FREE_RATE = Decimal(env("ANALYTICS_RISK_FREE_RATE", default="0"))  # annual, 0.03 = 3 %: Sharpe

# --- Order engine (trading/) ------------------------------------------------------
FILL_MODEL = env("FILL_MODEL", default="last")  # last: whole quantity at the tick; realistic: volume caps + slippage
SLIPPAGE_TICKS = env.int("SLIPPAGE_TICKS", default=1)  # realistic model: market fills move this many ticks
MARKET_BUY_BUFFER = Decimal(env("MARKET_BUY_BUFFER", default="0.05"))  # market/stop buys reserve price × (1+buffer)
ORDER_MAX_QUANTITY = env.int("ORDER_MAX_QUANTITY", default=1_000_000)
STOCK_CACHE_SECONDS = env.float("STOCK_CACHE_SECONDS", default=60.0)  # stock master kept per process
# GET market/movers ranks ~2,700 prices (one MGET); each process reuses a ranking this long (0: every request).
MOVERS_CACHE_SECONDS = env.float("MOVERS_CACHE_SECONDS", default=1.0)
MATCHER_HEALTH_INTERVAL_SECONDS = env.float("MATCHER_HEALTH_INTERVAL_SECONDS", default=3.0)

# --- Payments (PortOne V2) -------------------------------------------------------
PORTONE_STORE_ID = env("PORTONE_STORE_ID", default="")
PORTONE_CHANNEL_KEY = env("PORTONE_CHANNEL_KEY", default="")
PORTONE_V2_API_SECRET = env("PORTONE_V2_API_SECRET", default="")
PORTONE_WEBHOOK_SECRET = env("PORTONE_WEBHOOK_SECRET", default="")
PORTONE_API_BASE = env("PORTONE_API_BASE", default="https://api.portone.io")
# Test mode (the keyless `make demo`): payments go to the built-in fake PortOne (payments/fake_api.py), in process.
# Never on in production (production.py forces it off and requires the keys).
PORTONE_TEST_MODE = env.bool("PORTONE_TEST_MODE", default=DEBUG and not (PORTONE_STORE_ID and PORTONE_V2_API_SECRET))
PORTONE_KEY_NAMES = ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_V2_API_SECRET", "PORTONE_WEBHOOK_SECRET")
# Off: the premium page says payments are off and the payments API answers 503 payments_disabled.
# Defaults to on where payments can work (test mode or all four keys); production.py wants it said explicitly.
_portone_keys_set = all(env.str(name, default="").strip() for name in PORTONE_KEY_NAMES)
PAYMENTS_ENABLED = env.bool("PAYMENTS_ENABLED", default=PORTONE_TEST_MODE or _portone_keys_set)

# --- Logging -----------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

# --- Content-Security-Policy (django-csp, docs/architecture.md §11) ----------------------------
# Scripts only from our own static files: no inline script, no event-handler attributes, no eval (htmx runs with
# allowEval=false). 'self' in connect-src also matches ws:/wss: on the page's own host (CSP Level 3), which carries
# /ws/prices/ and /ws/account/. Pages that embed third-party code relax this per view with django-csp's decorators:
# the premium page (PortOne, payments/views.py) and Swagger UI at /docs (stocking/urls.py).
CSP_LIGHTWEIGHT_CHARTS_LOGO_STYLE = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='"  # its <style>, v5.2.1
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", CSP_LIGHTWEIGHT_CHARTS_LOGO_STYLE],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# PortOne's payment window: the SDK loads https://cdn.portone.io/v2/browser-sdk.js, which opens PortOne's and the
# card company's pages in frames and talks to PortOne's API. Only the premium page gets these sources.
PORTONE_CSP_SOURCES = env.list(
    "PORTONE_CSP_SOURCES", default=["https://*.portone.io", "https://*.iamport.co", "https://*.iamport.kr"]
)
CSP_PREMIUM_PAGE_UPDATE = {
    "script-src": PORTONE_CSP_SOURCES,
    "connect-src": PORTONE_CSP_SOURCES,
    "frame-src": ["'self'", *PORTONE_CSP_SOURCES],
    "img-src": PORTONE_CSP_SOURCES,
    "form-action": PORTONE_CSP_SOURCES,
}
