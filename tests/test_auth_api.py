from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import assert_error

User = get_user_model()
pytestmark = pytest.mark.django_db


def register(client, **overrides):
    body = {"username": "jiwoo", "password": "correct-horse-battery", "email": "jiwoo@example.com", **overrides}
    return client.post("/api/v1/auth/register", body, format="json")


def test_it_registers_a_user_and_answers_201(api_client):
    response = register(api_client)
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "jiwoo"
    assert body["email"] == "jiwoo@example.com"
    assert "password" not in body
    assert User.objects.get(username="jiwoo").check_password("correct-horse-battery")


def test_it_rejects_a_taken_username_case_insensitively_and_writes_nothing(api_client, user):
    before = User.objects.count()
    error = assert_error(register(api_client, username=user.username.upper()), 400, "validation_error")
    assert "username" in error["details"]
    assert User.objects.count() == before


@pytest.mark.parametrize(
    ("password", "why"),
    [("short1", "too short"), ("password123", "too common"), ("12345678901", "entirely numeric")],
)
def test_it_rejects_a_weak_password(api_client, password, why):
    error = assert_error(register(api_client, password=password), 400, "validation_error")
    assert "password" in error["details"], why
    assert not User.objects.filter(username="jiwoo").exists()


def test_it_rejects_a_missing_password_and_bad_username(api_client):
    response = api_client.post("/api/v1/auth/register", {"username": "bad name!"}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert set(error["details"]) == {"username", "password"}
    assert User.objects.count() == 0


def test_it_rejects_malformed_json(api_client):
    response = api_client.post("/api/v1/auth/register", data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert User.objects.count() == 0


def test_it_rejects_a_wrong_content_type(api_client):
    response = api_client.post(
        "/api/v1/auth/register", data="username=x&password=y", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")
    assert User.objects.count() == 0


def test_token_me_refresh_and_logout_round_trip(api_client, user, password):
    tokens = api_client.post(
        "/api/v1/auth/token", {"username": user.username, "password": password}, format="json"
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api_client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == user.username

    rotated = api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    new_refresh = rotated.json()["refresh"]
    assert new_refresh != tokens["refresh"]
    assert api_client.post("/api/v1/auth/logout", {"refresh": new_refresh}, format="json").status_code == 204
    after_logout = api_client.post("/api/v1/auth/token/refresh", {"refresh": new_refresh}, format="json")
    assert_error(after_logout, 401, "token_not_valid")
    # rotation used the old refresh token up (reusing one: tests/test_token_rotation.py)
    reused = api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert_error(reused, 401, "token_not_valid")


def test_access_token_lives_15_minutes(api_client, user, password):
    tokens = api_client.post(
        "/api/v1/auth/token", {"username": user.username, "password": password}, format="json"
    ).json()
    token = AccessToken(tokens["access"])
    assert token["exp"] - token["iat"] == 15 * 60
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    with time_machine.travel(timedelta(minutes=16)):
        assert_error(api_client.get("/api/v1/auth/me"), 401, "token_not_valid")


def test_it_rejects_a_forged_token(api_client, user):
    token = AccessToken.for_user(user)
    header, payload, _signature = str(token).split(".")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {header}.{payload}.forgedsignature")
    assert_error(api_client.get("/api/v1/auth/me"), 401, "token_not_valid")


def test_me_without_credentials_is_401(api_client):
    assert_error(api_client.get("/api/v1/auth/me"), 401, "not_authenticated")


def test_wrong_password_is_401_and_the_fifth_failure_locks_the_account(api_client, user, password):
    def attempt(secret):
        return api_client.post("/api/v1/auth/token", {"username": user.username, "password": secret}, format="json")

    for _ in range(4):
        assert_error(attempt("wrong-password"), 401, "authentication_failed")
    locked = attempt("wrong-password")
    assert_error(locked, 429, "locked_out")
    assert locked["Retry-After"] == "900"
    # even the right password is refused while locked
    assert_error(attempt(password), 429, "locked_out")


def test_a_locked_account_does_not_lock_out_other_users_at_the_same_address(api_client, password):
    from tests.factories import UserFactory

    victim, neighbour = UserFactory(password=password), UserFactory(password=password)

    def attempt(user, secret, address="10.0.0.1"):
        body = {"username": user.username, "password": secret}
        return api_client.post("/api/v1/auth/token", body, format="json", REMOTE_ADDR=address)

    for _ in range(5):
        attempt(victim, "wrong-password")
    assert_error(attempt(victim, password), 429, "locked_out")
    assert attempt(neighbour, password).status_code == 200  # same client address
    assert attempt(victim, password, address="10.0.0.2").status_code == 200  # the owner, elsewhere


def test_logout_with_someone_elses_refresh_token_is_refused(jwt_client, password):
    from tests.factories import UserFactory

    other = UserFactory()
    other_tokens = jwt_client.post(
        "/api/v1/auth/token", {"username": other.username, "password": password}, format="json"
    ).json()
    response = jwt_client.post("/api/v1/auth/logout", {"refresh": other_tokens["refresh"]}, format="json")
    assert_error(response, 401, "token_not_valid")
    # the other user's token still works
    still_ok = jwt_client.post("/api/v1/auth/token/refresh", {"refresh": other_tokens["refresh"]}, format="json")
    assert still_ok.status_code == 200


def test_register_is_throttled_with_retry_after(api_client, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "2/min"}
    try:
        for _ in range(2):
            register(api_client, username=f"u{_}", password="x")
        response = register(api_client, username="u3", password="x")
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
    error = assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert error["details"]["retry_after_seconds"] > 0


def test_token_refresh_is_throttled_with_retry_after(jwt_client, monkeypatch):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "auth_refresh": "2/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    refresh = jwt_client.tokens["refresh"]
    for _ in range(2):
        refresh = jwt_client.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json").json()["refresh"]
    response = jwt_client.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_a_successful_api_login_forgives_the_failures_before_it(api_client, user, password):
    def attempt(secret):
        return api_client.post("/api/v1/auth/token", {"username": user.username, "password": secret}, format="json")

    for _ in range(4):
        assert_error(attempt("wrong-password"), 401, "authentication_failed")
    assert attempt(password).status_code == 200
    for _ in range(4):  # counted from zero again, as after a page login (AXES_RESET_ON_SUCCESS)
        assert_error(attempt("wrong-password"), 401, "authentication_failed")
    assert attempt(password).status_code == 200


@pytest.mark.parametrize("password", [" " * 12, "\u3000" * 12, "\t \n" * 4])
def test_it_rejects_a_password_of_only_whitespace(api_client, password):
    error = assert_error(register(api_client, password=password), 400, "validation_error")
    assert "password" in error["details"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("taken", "variant"), [("alice", "Ａlice"), ("alice", "ＡＬＩＣＥ"), ("émile", "ÉMILE"), ("straße", "STRASSE")]
)
def test_a_username_that_differs_only_in_width_or_case_is_taken(api_client, taken, variant):
    assert register(api_client, username=taken).status_code == 201
    error = assert_error(register(api_client, username=variant), 400, "validation_error")
    assert "username" in error["details"]
    assert User.objects.count() == 1


def test_a_username_is_stored_in_nfkc_and_logs_in_in_any_case_or_width(api_client):
    assert register(api_client, username="Ｊｉｗｏｏ").json()["username"] == "Jiwoo"
    for typed in ("jiwoo", "JIWOO", "ｊｉｗｏｏ"):
        body = {"username": typed, "password": "correct-horse-battery"}
        assert api_client.post("/api/v1/auth/token", body, format="json").status_code == 200, typed


def test_the_signup_page_refuses_a_name_taken_in_another_case_and_the_login_page_finds_it(client):
    from stocking.services import user_register

    user_register(username="émile", password="correct-horse-battery")
    form = {"username": "ÉMILE", "password1": "correct-horse-battery", "password2": "correct-horse-battery"}
    response = client.post("/signup/", form)
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert User.objects.count() == 1

    response = client.post("/login/", {"username": "ÉMILE", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/api/v1/auth/me").json()["username"] == "émile"


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_name_in_different_cases_create_one_user():
    import threading

    from django.db import connections
    from rest_framework.test import APIClient

    variants = ["alice", "ALICE", "Alice", "aLiCe", "ａｌｉｃｅ", "ＡＬＩＣＥ", "alicE", "ALice"]
    start = threading.Barrier(len(variants))
    statuses: list = []

    def sign_up(name):
        try:
            start.wait()
            statuses.append(register(APIClient(), username=name).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_up, args=(name,)) for name in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [400] * (len(variants) - 1)
    assert User.objects.count() == 1
