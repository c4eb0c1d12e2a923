"""Production: no insecure defaults. Missing secrets stop startup with a clear message."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import PORTONE_KEY_NAMES, STORAGES, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # ImproperlyConfigured: "Set the SECRET_KEY environment variable"
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS to the site's host names.")

# Payments: real PortOne keys, never the built-in fake; or no payments, said explicitly (no silent default).
PORTONE_TEST_MODE = False
PAYMENTS_ENABLED = env.bool("PAYMENTS_ENABLED", default=True)
_missing_portone = [name for name in PORTONE_KEY_NAMES if not env.str(name, default="").strip()]
if PAYMENTS_ENABLED and _missing_portone:
    raise ImproperlyConfigured(
        f"Set {', '.join(_missing_portone)}: payments need PortOne V2 keys (test mode is never used in "
        "production). To run without payments, set PAYMENTS_ENABLED=false instead."
    )

STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

# HTTPS lives here, not behind DEBUG=false: a local DEBUG=false run over plain HTTP still works.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# E-mail (password reset) over SMTP, from the environment; nothing is printed to logs here.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
