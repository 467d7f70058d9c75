"""Settings for LodgeTix Live.

Two shapes, both first class (README, "How it runs"):

* the embedded default - no environment at all: SQLite in WAL mode and Channels'
  in-memory layer, so `make run` works on a bare machine;
* production - DATABASE_URL and REDIS_URL point at PostgreSQL and Redis.

Everything an operator sets comes from the environment: DATABASE_URL, REDIS_URL,
SECRET_KEY, DEBUG, ALLOWED_HOSTS (docs/design.md §8).
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of the embedded default (SQLite files, a generated secret key); never committed.
VAR_DIR = Path(os.environ.get("LODGETIX_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or value == "" else int(value)


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """A rate limit "COUNT/SECONDS" (e.g. "10/60") from the environment; "off" disables it."""
    value = (os.environ.get(name) or default).strip().lower()
    if value in {"off", "0", "none"}:
        return None
    try:
        count, window = (int(part) for part in value.split("/"))
    except ValueError:
        raise ValueError(f'{name} must look like "10/60" (count/seconds) or "off"') from None
    if count < 1 or window < 1:
        raise ValueError(f"{name} needs a count and a window of at least 1")
    return count, window


def _local_secret_key() -> str:
    """A per-checkout key for the embedded default, generated once and kept in var/.

    Production sets SECRET_KEY so that every host signs sessions alike.
    """
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
# Namespaces every Redis key and pub/sub channel, so two deployments (or two test runs)
# can share one Redis. Pub/sub channels ignore the database number in REDIS_URL.
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "lodgetix")

DEBUG = env_bool("DEBUG", default=not DATABASE_URL)
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    # daphne first: its runserver serves HTTP and WebSockets from one ASGI process.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "tickets",
    "presence",
    "analytics",
    # Benchmarks (`manage.py bench`); the product apps never import it.
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "lodgetix.urls"
WSGI_APPLICATION = "lodgetix.wsgi.application"
ASGI_APPLICATION = "lodgetix.asgi.application"

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
            ],
        },
    },
]


# Every process keeps a bounded pool of PostgreSQL connections (README, "Database
# connections"). Django's persistent connections are per thread, and under ASGI every
# request runs on a thread of its own (runserver/daphne), so `make run` on PostgreSQL once
# opened a connection per request until PostgreSQL refused more ("too many clients"). A
# pool caps a process at DB_POOL_MAX_SIZE whatever its threads do; a thread that finds it
# empty waits up to DB_POOL_TIMEOUT seconds, then the request answers a friendly 503
# (common/unavailable.py) instead of hanging. `make serve` sizes each program's pool itself
# (deployment/supervisord.conf): gunicorn one per thread, the sweeper two.
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10)
# Under ASGI (runserver/daphne, uvicorn) requests queue here for a connection: that queue
# is the server's CPU, not the pool (500 page loads at once take ~15 s on two cores, and
# would take as long without a pool), so the wait allowed is long enough for a crowd.
# gunicorn's threads never queue (one connection each), so `make serve` gives them 5 s:
# there a wait only means PostgreSQL is away, and the page should say so soon.
DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 30)
# A PostgreSQL that does not answer (host down, packets dropped) fails a connect in this
# many seconds rather than the operating system's minutes.
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5)


def database_config(url: str) -> dict:
    """DATABASES["default"] for a DATABASE_URL, or the embedded SQLite file when empty."""
    if url:
        # CONN_MAX_AGE 0: the pool keeps the connections, Django returns its connection
        # to the pool at the end of every request (Django refuses a pool otherwise).
        # CONN_HEALTH_CHECKS under a pool: the pool checks a connection (one empty query)
        # as it hands it out, so one that PostgreSQL dropped in a restart is replaced
        # instead of failing a request.
        config = dj_database_url.parse(
            url,
            conn_max_age=0,
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", default=True),
        )
    else:
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["OPTIONS"] = {
            **config.get("OPTIONS", {}),
            "connect_timeout": DB_CONNECT_TIMEOUT,
            "pool": {
                "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
                "max_size": DB_POOL_MAX_SIZE,
                "timeout": DB_POOL_TIMEOUT,
            },
        }
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # IMMEDIATE takes SQLite's write lock at BEGIN, so concurrent writers queue on
            # the busy timeout instead of failing with "database is locked" on upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not :memory:, so the test ASGI server process and request threads see
        # the same test database.
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    return config


DATABASES = {"default": database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub publishes once per group message; the core layer writes one entry per
            # group member. Measured with `manage.py bench fanout` (BENCHMARKS.md).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_PREFIX},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "common.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
    # Sessions are read from Redis on every request and written through to PostgreSQL
    # when they change - once per visitor, on their first page view (the buyer key), not
    # on the hold path. A Redis restart then costs nobody the registration their session
    # owns.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-au"
TIME_ZONE = "Australia/Sydney"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# WhiteNoise serves static files in every shape. `make serve` collects them into
# COLLECTED_STATIC_DIR with hashed names and far-future caching; everywhere else (make run,
# the tests) the finders find them where they are. Only the collected shape sets
# STATIC_ROOT: WhiteNoise scans STATIC_ROOT each time it loads, and a scan that meets a
# collectstatic of another process (which deletes and rewrites hashed files) fails.
STATIC_COLLECTED = env_bool("STATIC_COLLECTED", default=False)
COLLECTED_STATIC_DIR = VAR_DIR / "static"
STATIC_ROOT = COLLECTED_STATIC_DIR if STATIC_COLLECTED else None
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_COLLECTED
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        **{
            name: {"level": os.environ.get("LOG_LEVEL", "INFO")}
            for name in ("lodgetix", "tickets", "presence", "analytics")
        },
        # daphne's runserver prints its access log itself; don't print it twice.
        "django.channels.server": {"propagate": False},
    },
}

# --- LodgeTix ----------------------------------------------------------------------------

# How often the expiry sweeper looks for expired holds, in seconds.
HOLD_SWEEP_INTERVAL = env_int("HOLD_SWEEP_INTERVAL", 2)
# Where the sweeper runs. On the embedded default only the server process can reach its
# sockets (in-memory channel layer), so it sweeps there; with Redis a separate
# `release_expired_holds --loop` process does it and broadcasts through Redis.
HOLD_SWEEPER_IN_SERVER = env_bool("HOLD_SWEEPER_IN_SERVER", default=not REDIS_URL)

# The rush (README, "Production shape"). Holds one buyer session may ask for per window: a
# person selects a few ticket types, a script hammering the button is stopped with 429.
HOLD_RATE_LIMIT_PER_BUYER = env_rate("HOLD_RATE_LIMIT_PER_BUYER", "10/60")
# Holds without a session yet (first holds), per client address: larger, as a lodge hall
# shares one address. Benchmarks, whose buyers all come from 127.0.0.1, turn it off.
HOLD_RATE_LIMIT_PER_IP = env_rate("HOLD_RATE_LIMIT_PER_IP", "120/60")
# How long a hold waits for a row lock (the hot ticket type's, a buyer's registration)
# before giving up with "try again" (409). Under a rush the queue for one ticket type
# drains at about a thousand holds a second, so a wait this long means something is stuck.
HOLD_LOCK_TIMEOUT_MS = env_int("HOLD_LOCK_TIMEOUT_MS", 1000)
# Behind `make serve`'s nginx, the client's address arrives in X-Real-IP. Never trust
# that header without a proxy of ours in front: a client could set it.
BEHIND_PROXY = env_bool("LODGETIX_BEHIND_PROXY", default=False)

# Open live sockets allowed per browser session (the oldest closes when exceeded) and per
# client address (refused when exceeded; a lodge hall behind one NAT needs headroom).
LIVE_MAX_SOCKETS_PER_SESSION = env_int("LIVE_MAX_SOCKETS_PER_SESSION", 10)
LIVE_MAX_SOCKETS_PER_IP = env_int("LIVE_MAX_SOCKETS_PER_IP", 200)

# Seconds between presence heartbeats; people of a process that stops refreshing them
# drop out of the counts after three missed heartbeats.
PRESENCE_HEARTBEAT = env_int("PRESENCE_HEARTBEAT", 10)

# Interaction batches one session may post per minute before the capture endpoint answers
# 429. A page flushes every 5 s (12 a minute); the rest is headroom for several tabs.
ANALYTICS_BATCHES_PER_MINUTE = env_int("ANALYTICS_BATCHES_PER_MINUTE", 120)

# Health endpoints (common/health.py): how long /readyz waits for each of PostgreSQL and
# Redis, and how old the sweeper's last heartbeat may be before /readyz calls it stale
# (three missed sweeps).
HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT") or 2)
SWEEPER_STALE_AFTER = float(os.environ.get("SWEEPER_STALE_AFTER") or 3 * HOLD_SWEEP_INTERVAL)
