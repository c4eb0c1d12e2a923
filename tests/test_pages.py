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
