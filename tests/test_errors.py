import pytest

from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404(api_client):
    assert_error(api_client.get("/api/v1/no/such/thing"), 404, "not_found")


def test_wrong_method_is_405_in_the_error_shape(jwt_client):
    assert_error(jwt_client.delete("/api/v1/auth/me"), 405, "method_not_allowed")


def test_session_post_without_csrf_token_is_403_in_the_error_shape(user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    error = assert_error(client.post("/api/v1/auth/logout", {"refresh": "x"}, format="json"), 403, "permission_denied")
    assert "CSRF" in error["message"]


def test_non_api_404_is_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
