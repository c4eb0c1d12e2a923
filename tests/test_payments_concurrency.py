"""Browser completions and webhooks racing on real threads, each with its own connection: one grant."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from rest_framework.test import APIClient

from payments.models import Payment, PaymentStatus, ProcessedWebhook, Subscription
from tests.factories import UserFactory, open_account_for
from tests.fake_portone import complete, pay_at_portone, prepare, running_fake_portone, send_webhook, signed_headers
from tests.fake_portone import webhook_body as paid_webhook_body

pytestmark = pytest.mark.django_db(transaction=True)

COMPLETERS = 10
WEBHOOKS = 10


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def run_together(jobs) -> list:
    """Start every job at once on its own thread; returns their results (or raised exceptions)."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            start.wait()
            results[index] = job()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    return results


def test_concurrent_completes_and_webhooks_grant_exactly_once(portone):
    user = UserFactory()
    open_account_for(user)
    order = prepare(client_for(user))
    pay_at_portone(portone, order)
    body = paid_webhook_body("Transaction.Paid", order["payment_id"])

    def completer():
        return complete(client_for(user), order["payment_id"]).status_code

    def deliverer(n):
        return lambda: send_webhook(APIClient(), body, signed_headers(body, webhook_id=f"msg_{n}")).status_code

    jobs = [completer] * COMPLETERS + [deliverer(n) for n in range(WEBHOOKS)]
    results = run_together(jobs)

    assert results == [200] * (COMPLETERS + WEBHOOKS), results
    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=30)
    assert Payment.objects.get().status == PaymentStatus.PAID
    assert ProcessedWebhook.objects.count() == WEBHOOKS


def test_the_same_webhook_delivered_concurrently_is_processed_once(portone):
    user = UserFactory()
    open_account_for(user)
    order = prepare(client_for(user))
    pay_at_portone(portone, order)
    body = paid_webhook_body("Transaction.Paid", order["payment_id"])

    results = run_together(
        [lambda: send_webhook(APIClient(), body, signed_headers(body, webhook_id="msg_same")).status_code] * 8
    )

    assert results == [200] * 8, results
    assert ProcessedWebhook.objects.count() == 1
    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=30)


def test_two_payments_of_one_user_completed_at_once_both_count(portone):
    user = UserFactory()
    open_account_for(user)
    orders = [prepare(client_for(user)), prepare(client_for(user), "premium_yearly")]
    for order in orders:
        pay_at_portone(portone, order)

    results = run_together([lambda order=order: complete(client_for(user), order["payment_id"]).status_code
                            for order in orders for _ in range(3)])  # fmt: skip

    assert results == [200] * 6, results
    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=30 + 365)
