"""Watchlist caps and names hold under concurrent requests (real threads, each with its own connection).

On MariaDB a user with no lists has no row for SELECT ... FOR UPDATE to lock: concurrent creates deadlocked,
hit duplicate keys (500) and once let 11 lists past the free cap of 10. Conflicts answer 409, never 500.
"""

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection, connections
from rest_framework.test import APIClient

from payments.selectors import FREE_WATCHLIST_LIMITS
from portfolio.models import Watchlist
from portfolio.services import watchlist_create
from tests.factories import UserFactory, open_account_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16
MAX_LISTS = FREE_WATCHLIST_LIMITS[0]


def run_concurrently(requests) -> list:
    """Each callable(client) in its own thread, released together; returns the responses in order."""
    start = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)
    failures: list[BaseException] = []

    def worker(index, request):
        try:
            start.wait()
            responses[index] = request()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    assert not failures, failures[:3]
    assert all(not t.is_alive() for t in threads)
    return responses


@pytest.fixture
def member():
    user = UserFactory()
    open_account_for(user)
    yield user
    for alias in connections:
        connections[alias].close()


def client_for(user) -> APIClient:
    client = APIClient(raise_request_exception=False)  # a 500 is an answer to count, not a crash
    client.force_authenticate(user=user)
    return client


def post_list(user, name):
    return lambda: client_for(user).post("/api/v1/portfolio/watchlists", {"name": name}, format="json")


def statuses(responses) -> dict[int, int]:
    return dict(Counter(r.status_code for r in responses))


def test_concurrent_first_creates_stop_at_the_cap_and_refuse_the_rest_with_409(member):
    responses = run_concurrently([post_list(member, f"list {i}") for i in range(THREADS)])
    assert statuses(responses) == {201: MAX_LISTS, 409: THREADS - MAX_LISTS}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"limit_reached", "conflict"}
    assert Watchlist.objects.filter(user=member).count() == MAX_LISTS
    assert sorted(Watchlist.objects.filter(user=member).values_list("position", flat=True)) == list(range(MAX_LISTS))


def test_concurrent_creates_near_the_cap_never_pass_it(member):
    for i in range(MAX_LISTS - 2):
        watchlist_create(user=member, name=f"existing {i}")
    responses = run_concurrently([post_list(member, f"new {i}") for i in range(THREADS)])
    assert statuses(responses) == {201: 2, 409: THREADS - 2}
    assert Watchlist.objects.filter(user=member).count() == MAX_LISTS


def test_concurrent_creates_of_one_name_make_one_list(member):
    names = ["Tech" if i % 2 else "tech" for i in range(THREADS)]  # names are unique regardless of case
    responses = run_concurrently([post_list(member, name) for name in names])
    assert statuses(responses) == {201: 1, 409: THREADS - 1}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"duplicate", "conflict"}
    assert Watchlist.objects.filter(user=member).count() == 1


def test_concurrent_renames_to_one_name_leave_names_unique(member):
    lists = [watchlist_create(user=member, name=f"list {i}") for i in range(MAX_LISTS)]

    def rename(watchlist, name):
        return lambda: client_for(member).patch(
            f"/api/v1/portfolio/watchlists/{watchlist.pk}", {"name": name}, format="json"
        )

    responses = run_concurrently([rename(w, "Same" if i % 2 else "same") for i, w in enumerate(lists)])
    assert statuses(responses) == {200: 1, 409: MAX_LISTS - 1}
    names = [name.lower() for name in Watchlist.objects.filter(user=member).values_list("name", flat=True)]
    assert len(names) == len(set(names)) == MAX_LISTS


def test_two_users_creating_at_once_do_not_block_each_other_into_errors(member):
    other = UserFactory()
    open_account_for(other)
    requests = [post_list(member if i % 2 else other, f"list {i // 2}") for i in range(THREADS)]
    assert statuses(run_concurrently(requests)) == {201: THREADS}
    assert Watchlist.objects.filter(user=member).count() == Watchlist.objects.filter(user=other).count() == THREADS // 2
