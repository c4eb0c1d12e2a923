"""Refresh-token rotation (docs/architecture.md §11): one refresh token yields at most one new pair, also under
concurrent use, and reusing a used one ends every session descended from its login."""

import threading

import pytest
from django.db import connections
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from stocking.models import RefreshTokenFamily
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 20


@pytest.fixture(autouse=True)
def _no_refresh_throttle(monkeypatch):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "auth_refresh": "10000/min", "auth": "10000/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)


def login(client, user, password) -> dict:
    response = client.post("/api/v1/auth/token", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client, token):
    return client.post("/api/v1/auth/token/refresh", {"refresh": token}, format="json")


def refresh_concurrently(token: str) -> list:
    """THREADS requests with one refresh token, released together, each on its own connection."""
    start = threading.Barrier(THREADS)
    responses: list = [None] * THREADS

    def use(index):
        try:
            start.wait()
            responses[index] = refresh(APIClient(), token)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=use, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_uses_of_one_refresh_token_yield_exactly_one_pair(api_client, user, password, trial):
    tokens = login(api_client, user, password)
    responses = refresh_concurrently(tokens["refresh"])
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    for loser in responses:
        if loser.status_code != 200:
            assert_error(loser, 401, "token_not_valid")
    # The losers reused a used token: the winner may be the thief, so its pair dies with the family.
    assert_error(refresh(api_client, winners[0].json()["refresh"]), 401, "token_not_valid")
    assert RefreshTokenFamily.objects.get(user=user).revoked_at is not None


def test_reusing_a_rotated_refresh_token_revokes_every_token_descended_from_its_login(api_client, user, password):
    first = login(api_client, user, password)["refresh"]
    second = refresh(api_client, first).json()["refresh"]
    third = refresh(api_client, second).json()["refresh"]
    other_login = login(api_client, user, password)["refresh"]  # another device: its own family

    reused = refresh(api_client, first)
    assert_error(reused, 401, "token_not_valid")
    assert "이미 사용된" in reused.json()["error"]["message"]  # Korean by default: this token was used before
    assert_error(refresh(api_client, third), 401, "token_not_valid")
    assert_error(refresh(api_client, second), 401, "token_not_valid")
    assert refresh(api_client, other_login).status_code == 200


def test_a_refresh_token_from_before_families_rotates_once_and_its_reuse_revokes_the_successor(api_client, user):
    legacy = str(RefreshToken.for_user(user))  # no "fam" claim, as tokens issued before this change
    successor = refresh(api_client, legacy)
    assert successor.status_code == 200
    assert_error(refresh(api_client, legacy), 401, "token_not_valid")
    assert_error(refresh(api_client, successor.json()["refresh"]), 401, "token_not_valid")


def test_after_logout_no_token_of_that_login_refreshes(jwt_client):
    first = jwt_client.tokens["refresh"]
    second = refresh(jwt_client, first).json()["refresh"]
    assert jwt_client.post("/api/v1/auth/logout", {"refresh": second}, format="json").status_code == 204
    assert_error(refresh(jwt_client, second), 401, "token_not_valid")
    assert_error(refresh(jwt_client, first), 401, "token_not_valid")
