"""Local work and `make demo`: DEBUG on, a development-only SECRET_KEY, PortOne test mode without keys.

Chosen explicitly (DJANGO_SETTINGS_MODULE=stocking.settings.development); without it every entry point
loads base.py, which has DEBUG off and requires SECRET_KEY. The environment and .env still win.
"""

import os
from pathlib import Path

import environ

DEVELOPMENT_DEFAULTS = {
    "DEBUG": "true",
    "SECRET_KEY": "django-insecure-development-only-key-do-not-deploy",
}

# .env first, so its values win over the development defaults (base.py reads it again: no overwrite).
environ.Env.read_env(Path(__file__).resolve().parent.parent.parent / ".env", overwrite=False)
# base.py derives settings from DEBUG (static storage, PortOne test mode), so the defaults must be in
# place while it loads; they are removed afterwards so subprocesses started from here choose their own.
_added = {name: value for name, value in DEVELOPMENT_DEFAULTS.items() if name not in os.environ}
os.environ.update(_added)
try:
    from .base import *  # noqa: E402, F403
finally:
    for _name in _added:
        os.environ.pop(_name, None)

# Password-reset mails are printed to the web server's console (the terminal running `make demo`), not sent.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")  # noqa: F405
