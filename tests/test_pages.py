import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_signup_page_creates_a_user_and_logs_in(client):
    response = client.post(
        "/signup/",
        {"username": "minji", "email": "", "password1": "correct-horse-battery", "password2": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert get_user_model().objects.filter(username="minji").exists()


def test_signup_page_shows_errors_inline_and_writes_nothing(client, user):
    response = client.post("/signup/", {"username": user.username, "password1": "abc", "password2": "abd"})
    assert response.status_code == 200
    assert b"field-error" in response.content
    assert get_user_model().objects.count() == 1


def test_dashboard_requires_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_logout_needs_post(client, user):
    client.force_login(user)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_docs_and_schema_are_served_without_a_cdn(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "unpkg" not in html
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/register" in paths
    assert "/api/v1/stocks/{code}" in paths


def test_admin_navigation_only_for_staff(client, user):
    client.force_login(user)
    assert b'href="/admin/"' not in client.get("/dashboard/").content
    user.is_staff = True
    user.save()
    assert b'href="/admin/"' in client.get("/dashboard/").content


def test_a_page_and_its_htmx_fragment_vary_on_hx_request(client, user):
    client.force_login(user)
    page = client.get("/market/")
    fragment = client.get("/market/", headers={"HX-Request": "true"})
    assert b"<html" in page.content
    assert b"<html" not in fragment.content
    for response in (page, fragment):
        assert "HX-Request" in response["Vary"]  # so Back never shows the cached fragment as the page
    # htmx restoring history after a pushed URL gets the whole page
    restored = client.get("/orders/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert b"<html" in restored.content


def test_an_htmx_request_after_the_session_ended_sends_the_window_to_log_in(client):
    response = client.post(
        "/orders/ticket/A005930/place/",
        {"side": "BUY"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/stocks/A005930/"},
    )
    assert response.status_code == 204  # nothing for htmx to swap into the ticket
    assert response["HX-Redirect"] == "/login/?next=/stocks/A005930/"
    foreign = client.get("/orders/", headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"})
    assert foreign["HX-Redirect"] == "/login/?next=/"
    assert client.get("/orders/")["Location"] == "/login/?next=/orders/"  # plain requests: Django's redirect


def test_favicon_ico_points_at_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


# --- Content-Security-Policy (docs/architecture.md §11); the browser proof is tests/browser/test_csp.py -------------
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_no_template_has_inline_script_event_handlers_or_style_attributes():
    offences = []
    for template in sorted(TEMPLATES_DIR.rglob("*.html")):
        text = template.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            offences += [f"{template.relative_to(TEMPLATES_DIR)}: {match[0]}" for match in pattern.finditer(text)]
    assert offences == []


@pytest.mark.parametrize(
    "path", ["/portfolio/ledger/", "/market/", "/dashboard/", "/orders/", "/portfolio/", "/watchlists/"]
)
def test_pages_send_a_policy_that_allows_only_our_own_scripts(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert policy["connect-src"] == ["'self'"]  # fetch, htmx and same-host ws:/wss: (CSP Level 3)
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]


def test_only_the_premium_page_lets_portone_in(client, user):
    client.force_login(user)
    premium = _policy(client.get("/premium/"))
    for directive in ("script-src", "frame-src", "connect-src"):
        assert "https://*.portone.io" in premium[directive], directive
    assert "'unsafe-inline'" not in premium["script-src"]
    assert "frame-src" not in _policy(client.get("/market/"))


def test_swagger_ui_gets_its_script_as_a_file_and_only_inline_styles_relaxed(client):
    docs = client.get("/docs")
    policy = _policy(docs)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "<script>" not in docs.content.decode()
    script = client.get("/docs?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
