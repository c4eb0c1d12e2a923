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
