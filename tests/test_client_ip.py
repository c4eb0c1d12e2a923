"""Login lockout and throttles see the client's address behind NUM_PROXIES proxies, never the proxy's."""

import pytest
from django.test import RequestFactory

from kernel.client_ip import client_ip


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        (0, "", "10.0.0.1"),  # no proxy: the socket's address
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy trusted: a sent header is ignored
        (1, "203.0.113.9", "203.0.113.9"),  # behind nginx: what nginx saw
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # a forged left-most address is not believed
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),  # two proxies
        (3, "203.0.113.9", "203.0.113.9"),  # fewer addresses than proxies: the left-most
    ],
)
def test_client_ip_reads_forwarded_for_from_the_right(settings, num_proxies, forwarded, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **headers)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_behind_a_proxy_one_addresses_failures_do_not_lock_the_owner_out_from_another(client, settings, user, password):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    attacker = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    owner = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": user.username, "password": "wrong-guess"}, **attacker)
    locked = client.post("/login/", {"username": user.username, "password": "wrong-guess"}, **attacker)
    assert locked.status_code == 429
    response = client.post("/login/", {"username": user.username, "password": password}, **owner)
    assert response.status_code == 302  # logged in from the owner's own address
