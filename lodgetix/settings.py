"""Settings for LodgeTix Live.

Two shapes, both first class (README, "How it runs"):

* the embedded default - no environment at all: SQLite in WAL mode and Channels'
  in-memory layer, so `make run` works on a bare machine;
* production - DATABASE_URL and REDIS_URL point at PostgreSQL and Redis.

Everything an operator sets comes from the environment: DATABASE_URL, REDIS_URL,
SECRET_KEY, DEBUG, ALLOWED_HOSTS (docs/design.md §8).
"""

import datetime
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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


def env_cap(name: str, default: int) -> int | None:
    """A cap from the environment: a positive count, or "off" (also 0) for none."""
    value = (os.environ.get(name) or str(default)).strip().lower()
    if value in {"off", "0", "none"}:
        return None
    try:
        cap = int(value)
    except ValueError:
        raise ValueError(f'{name} must be a whole number or "off"') from None
    if cap < 1:
        raise ValueError(f"{name} must be at least 1 (or off)")
    return cap


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value is None or value == "" else float(value)


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


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list from the environment, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    """A per-checkout key for the embedded default (DEBUG on), generated once into var/.

    With DEBUG off SECRET_KEY must be set: a key generated per host would sign each host's
    sessions differently, and a lost var/ would log everyone out.
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
# Seconds any Redis client of ours waits to connect, and for each reply. Without it a
# paused (hung, not dead) Redis held every request until the kernel gave up: p50 went from
# 0.2 s to 25-29 s. Redis answers in well under a millisecond; a second is an outage.
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0)
REDIS_TIMEOUTS = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}

DEBUG = env_bool("DEBUG", default=not DATABASE_URL)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off. Set SECRET_KEY to one long random value "
            "shared by every host, e.g. the output of\n"
            "  python3 -c 'import secrets; print(secrets.token_urlsafe(50))'\n"
            "or set DEBUG=1 for a local trial (a key is then generated into var/)."
        )
    SECRET_KEY = _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

# --- HTTPS (README, "Configuration") ------------------------------------------------------
# Production is served over HTTPS, with TLS ending at a proxy or load balancer in front of
# `make serve`'s nginx. One switch, LODGETIX_HTTPS, turns on everything that follows from
# that; it is on whenever DEBUG is off. `LODGETIX_HTTPS=off` is for plain HTTP on a trusted
# local network and for the servers tests and benchmarks start on 127.0.0.1: browsers
# would not send secure cookies over http, and the redirect would send them to an https
# port nobody listens on. Each setting below can still be set on its own.
HTTPS = env_bool("LODGETIX_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=HTTPS)
# A year: what the HSTS preload list asks for, and long enough that a returning browser
# never tries http first.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
# Subdomains on: the site's own name (tickets.example.org) has no plain-HTTP subdomains of
# its own. Preload off by default: it asks browsers to hard-code HTTPS for the whole
# registrable domain, a commitment only its owner can make and that takes months to undo.
# check --deploy warns about it (security.W021); that warning is silenced below while
# preload is off, because off is the deliberate default (README).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# TLS ends in front of the app, so Django learns the browser's scheme from the proxy's
# X-Forwarded-Proto (make serve's nginx passes on what the load balancer set, or its own
# scheme). Without it, the SSL redirect would loop.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool("SECURE_PROXY_SSL_HEADER", default=HTTPS)
    else None
)
# Origins besides the site's own that may post forms and open live sockets, with scheme:
# "https://tickets.example.org,https://*.example.org".
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Where links in outgoing mail point (manage links, claim links): the mail is rendered by
# the sender, away from any request, so the site's own address is configured.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Mail (docs/design.md §10) -----------------------------------------------------------
# Every message is a row in the outbox, delivered by its sender (outbox/delivery.py) with
# retries. EMAIL_URL names the mail server; unset (the embedded default), messages are
# printed to the console, marked "printed" in the outbox, and can be resent from the admin
# once a server is configured.

# Schemes of EMAIL_URL and what they mean: (TLS mode, default port). dj_email_url reads
# "smtps" as STARTTLS, so ours are mapped onto its query flags before it parses them.
EMAIL_URL_SCHEMES = {
    "smtp": ("", 25),
    "smtp+tls": ("tls", 587),  # STARTTLS
    "smtps": ("ssl", 465),  # implicit TLS
}


def email_config(url: str) -> dict:
    """EMAIL_* settings for an EMAIL_URL; ImproperlyConfigured, naming the problem, when
    the URL is not one we can use (so a typo stops the start, not the first sale's mail)."""
    if not url:
        return {"EMAIL_BACKEND": "outbox.backends.ConsoleBackend"}
    import urllib.parse

    import dj_email_url

    usage = "use smtp://user:password@host:port, smtp+tls://... (STARTTLS) or smtps://..."
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in EMAIL_URL_SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL has the scheme {parsed.scheme or '(none)'!r}; {usage} (implicit TLS)."
        )
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL has a port that is not a number; {usage}.") from None
    if not parsed.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL names no host; {usage}.")
    if parsed.query:
        raise ImproperlyConfigured(
            "EMAIL_URL takes no query string; the scheme says how to use TLS "
            "and EMAIL_TIMEOUT how long to wait."
        )
    tls, default_port = EMAIL_URL_SCHEMES[parsed.scheme]
    smtp_url = urllib.parse.urlunsplit(
        ("smtp", parsed.netloc, parsed.path, f"{tls}=1" if tls else "", "")
    )
    config = dj_email_url.parse(smtp_url)
    config["EMAIL_PORT"] = port or default_port
    # dj_email_url leaves a missing user or password as None; Django wants "".
    config["EMAIL_HOST_USER"] = config["EMAIL_HOST_USER"] or ""
    config["EMAIL_HOST_PASSWORD"] = config["EMAIL_HOST_PASSWORD"] or ""
    del config["EMAIL_TIMEOUT"], config["EMAIL_FILE_PATH"]
    return config


globals().update(email_config(os.environ.get("EMAIL_URL", "").strip()))
# Seconds any one step of talking to the mail server may take: a slow or silent server
# costs the sender this long, never a sale (the sender runs apart from requests).
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "LodgeTix <noreply@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# How often the sender looks for due messages, in seconds; an enqueued message also wakes
# it at once in the same process.
OUTBOX_SEND_INTERVAL = env_float("OUTBOX_SEND_INTERVAL", 1.0)
# Attempts before a message is given up ("failed"); with the backoff in outbox/delivery.py
# (30 s doubling to at most an hour) 20 attempts keep trying for about 14 hours.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 20)
# The sender runs where the hold sweeper does (HOLD_SWEEPER_IN_SERVER below): in the
# embedded default's server process, otherwise in `release_expired_holds --loop`; or on
# its own with `send_outbox --loop`. Any number of senders may run: each claims a message
# before sending it.

INSTALLED_APPS = [
    # The project first: its runserver (daphne's, with a listen backlog a rush fits in)
    # wins over daphne's and Django's.
    "lodgetix",
    # daphne next: its runserver serves HTTP and WebSockets from one ASGI process.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    # Admin login throttling (below, "Admin login").
    "axes",
    "tickets",
    "presence",
    "outbox",
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
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses every login attempt from a locked-out address before a password is
    # checked, the right one included.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
            # A host dict: channels-redis passes everything but the address to redis-py's
            # ConnectionPool.from_url, so the layer gets the same timeouts as our clients.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, **REDIS_TIMEOUTS}],
                "prefix": REDIS_PREFIX,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "common.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
            # Passed to the connection pool. A Redis error or timeout is a miss or a
            # skipped write (common.cache), so sessions fall through to PostgreSQL.
            "OPTIONS": dict(REDIS_TIMEOUTS),
        }
    }
    # Sessions are read from Redis on every request and written through to PostgreSQL
    # when they change - once per visitor, on their first page view (the buyer key), not
    # on the hold path. A Redis restart then costs nobody the registration their session
    # owns. common.sessions is Django's cached_db, whose read can ride in the hold's rate
    # limit round trip.
    SESSION_ENGINE = "common.sessions"
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
# --- the door page's QR decoder (issue 14) ---
# @zxing/library, a pinned npm package (package.json, installed by `npm ci`: `make run`
# and `make test` run it when npm is there), is served from node_modules as
# static/vendor/zxing/index.min.js - nothing is copied by hand. Without it (a machine with
# no npm) the door page says the camera is unavailable and scans by typed code, USB scanner
# and search (tickets.views.staff.camera_decoder).
ZXING_DIR = BASE_DIR / "node_modules" / "@zxing" / "library" / "umd"
STATICFILES_DIRS = [("vendor/zxing", ZXING_DIR)] if ZXING_DIR.is_dir() else []

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
            for name in ("lodgetix", "tickets", "presence", "analytics", "outbox")
        },
        # daphne's runserver prints its access log itself; don't print it twice.
        "django.channels.server": {"propagate": False},
    },
}

# --- LodgeTix ----------------------------------------------------------------------------

# How often the expiry sweeper looks for expired holds, in seconds.
HOLD_SWEEP_INTERVAL = env_int("HOLD_SWEEP_INTERVAL", 2)
# Seconds between the sweeper's housekeeping (common/housekeeping.py): expired sessions,
# interactions past ANALYTICS_RETENTION_DAYS, unsold registrations' people past
# PERSONAL_DATA_RETENTION_DAYS. 0 turns housekeeping off.
HOUSEKEEPING_INTERVAL = env_int("HOUSEKEEPING_INTERVAL", 3600)
# Days interactions are kept (0: for good). Half a year shows a season of functions.
ANALYTICS_RETENTION_DAYS = env_int("ANALYTICS_RETENTION_DAYS", 180)
# Days an expired (or never-confirmed, cancelled) registration keeps the names, emails,
# phones and dietary notes of its people (0: for good): long enough to answer a buyer who
# asks what became of it, no longer.
PERSONAL_DATA_RETENTION_DAYS = env_int("PERSONAL_DATA_RETENTION_DAYS", 30)
# Where the sweeper runs. On the embedded default only the server process can reach its
# sockets (in-memory channel layer), so it sweeps there; with Redis a separate
# `release_expired_holds --loop` process does it and broadcasts through Redis.
HOLD_SWEEPER_IN_SERVER = env_bool("HOLD_SWEEPER_IN_SERVER", default=not REDIS_URL)
# HTTP inside the ASGI server (lodgetix/asgi.py). On SQLite, which writes one transaction
# at a time, Django's WSGI handler on one thread: a burst is answered first come, first
# served, each request in one go, instead of a thread per request and a hop per middleware
# hook (common/one_thread.py). On PostgreSQL Django's ASGI handler; in production the
# ASGI server serves only /ws/ and gunicorn serves HTTP.
HTTP_ON_ONE_THREAD = env_bool(
    "HTTP_ON_ONE_THREAD", default=DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
)

# The rush (README, "Production shape"). Holds one buyer session may ask for per window: a
# person selects a few ticket types, a script hammering the button is stopped with 429.
HOLD_RATE_LIMIT_PER_BUYER = env_rate("HOLD_RATE_LIMIT_PER_BUYER", "10/60")
# Holds per client address, with or without a session (a fresh session per hold costs a
# script nothing): larger, as a lodge hall shares one address. Benchmarks, whose buyers
# all come from 127.0.0.1, turn it off.
HOLD_RATE_LIMIT_PER_IP = env_rate("HOLD_RATE_LIMIT_PER_IP", "120/60")
# Seats of one function that pending registrations opened from one client address may
# hold at once. Sessions cost nothing to make, so the address is what bounds one source;
# 100 leaves a lodge hall behind one NAT room for ten full tables. Benchmarks turn it off.
HOLD_SEATS_PER_IP = env_cap("HOLD_SEATS_PER_IP", 100)
# How long a hold waits for a row lock (the hot ticket type's, a buyer's registration)
# before giving up with "try again" (409). Under a rush the queue for one ticket type
# drains at about a thousand holds a second, so a wait this long means something is stuck.
HOLD_LOCK_TIMEOUT_MS = env_int("HOLD_LOCK_TIMEOUT_MS", 1000)
# A buyer's first hold in one round trip, a database function (tickets/services/
# first_hold.py; PostgreSQL only). Off sends every hold through the general path.
HOLD_FAST_PATH = env_bool("HOLD_FAST_PATH", default=True)
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

# Interaction batches one browser (its validated CSRF secret, from one address) may post
# per minute before the capture endpoint answers 429. A page flushes every 5 s (12 a
# minute); the rest is headroom for several tabs.
ANALYTICS_BATCHES_PER_MINUTE = env_int("ANALYTICS_BATCHES_PER_MINUTE", 120)
# And one client address, whatever cookies it sends: a lodge hall of a hundred browsers
# behind one NAT, each flushing every 5 s.
ANALYTICS_BATCHES_PER_MINUTE_PER_IP = env_int("ANALYTICS_BATCHES_PER_MINUTE_PER_IP", 1200)

# "Find my registration" (/registrations/find/): requests per hour from one client address
# (a lodge hall shares one) and for one email address, whose owner this keeps from being
# mailed over and over. "off" removes a limit.
FIND_PER_ADDRESS_PER_HOUR = env_cap("FIND_PER_ADDRESS_PER_HOUR", 20)
FIND_PER_EMAIL_PER_HOUR = env_cap("FIND_PER_EMAIL_PER_HOUR", 3)

# --- Admin login --------------------------------------------------------------------------
# django-axes counts failed logins per client address (our one reader of it, so behind
# nginx the X-Real-IP it passes) in the database, which SQLite and PostgreSQL both keep
# across restarts and processes. Past the limit every login from that address - the right
# password included - answers 429 until the cool-off has passed since the last failure.
AXES_CLIENT_IP_CALLABLE = "common.client.client_ip"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
# A staff member who gets in clears their address's count.
AXES_RESET_ON_SUCCESS = True

# Health endpoints (common/health.py): how long /readyz waits for each of PostgreSQL and
# Redis, and how old the sweeper's last heartbeat may be before /readyz calls it stale
# (three missed sweeps).
HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT") or 2)
SWEEPER_STALE_AFTER = float(os.environ.get("SWEEPER_STALE_AFTER") or 3 * HOLD_SWEEP_INTERVAL)
