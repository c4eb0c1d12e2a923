"""Password reset by e-mail and the change-password page (issue 14 item 5): Django's views, our templates."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "a-new-Password-2026!"  # noqa: S105 (a test value)


@pytest.fixture
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # these tests read the English texts; Korean is the default
    return client


def _logs_in(client, username, password) -> bool:
    response = client.post("/login/", {"username": username, "password": password})
    return response.status_code == 302 and response["Location"] == "/dashboard/"


def test_the_login_page_links_to_the_reset(english):
    html = english.get("/login/").content.decode()
    assert 'href="/password/reset/"' in html
    assert "Forgot your password?" in html


def test_a_reset_mail_carries_a_link_that_sets_a_new_password_once(english, user, mailoutbox):
    response = english.post("/password/reset/", {"email": user.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/sent/"
    assert "Check your e-mail" in english.get(response["Location"]).content.decode()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    assert mail.subject == "Reset your StocKing password"
    link = re.search(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)", mail.body).group(1)

    form_url = english.get(link)["Location"]  # Django moves the token into the session first
    assert "Choose a new password" in english.get(form_url).content.decode()
    response = english.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == "/password/reset/done/"
    assert "Your new password is set." in english.get("/password/reset/done/").content.decode()

    assert not _logs_in(english, user.username, DEFAULT_PASSWORD)
    assert _logs_in(english, user.username, NEW_PASSWORD)
    english.post("/logout/")
    html = english.get(link, follow=True).content.decode()
    assert "The reset link is invalid: it has been used already or it has expired." in html


def test_an_unknown_address_gets_the_same_answer_and_no_mail(english, user, mailoutbox):
    response = english.post("/password/reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/password/reset/sent/"  # no hint whether an account uses the address
    assert mailoutbox == []


def test_mismatched_new_passwords_are_refused_and_change_nothing(english, user, mailoutbox):
    english.post("/password/reset/", {"email": user.email})
    link = re.search(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)", mailoutbox[0].body).group(1)
    form_url = english.get(link)["Location"]
    response = english.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_a_logged_in_trader_changes_the_password_from_the_header(english, user):
    assert english.get("/password/change/")["Location"].startswith("/login/")
    assert _logs_in(english, user.username, DEFAULT_PASSWORD)
    assert 'href="/password/change/"' in english.get("/dashboard/").content.decode()  # the header's name link

    response = english.post(
        "/password/change/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)

    response = english.post(
        "/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == "/password/change/done/"
    assert "Your password has been changed." in english.get("/password/change/done/").content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


PRINT_EMAIL = (
    "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)"
)


def _email_settings(module: str, extra: dict) -> str:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "EMAIL_", "DJANGO_"))}
    env = {**keep, "DJANGO_SETTINGS_MODULE": module, **extra}
    result = subprocess.run(  # noqa: S603 (our own argv)
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PRINT_EMAIL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_development_prints_mails_and_production_sends_them_over_smtp_from_the_environment():
    assert _email_settings("stocking.settings.development", {}).startswith(
        "django.core.mail.backends.console.EmailBackend"
    )
    production = {
        "SECRET_KEY": "test-only-9f8e7d6c5b4a3928170fedcba9876543210abcdefghij",
        "ALLOWED_HOSTS": "stocking.example",
        "DATABASE_URL": "sqlite:////tmp/stocking-check.sqlite3",
        "PAYMENTS_ENABLED": "false",
        "EMAIL_HOST": "smtp.stocking.example",
        "EMAIL_PORT": "2525",
    }
    assert _email_settings("stocking.settings.production", production) == (
        "django.core.mail.backends.smtp.EmailBackend smtp.stocking.example 2525"
    )
