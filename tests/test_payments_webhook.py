"""PortOne webhooks: Standard Webhooks signatures (signed here with `standardwebhooks`), replays, ordering."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from payments.models import Payment, PaymentStatus, ProcessedWebhook, Subscription, SubscriptionStatus
from tests.fake_portone import (
    STORE_ID,
    complete,
    pay_at_portone,
    prepare,
    running_fake_portone,
    send_webhook,
    signed_headers,
    webhook_body,
)
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


@pytest.fixture
def hook_client():
    """PortOne's side: no login, and CSRF checks on, as for any anonymous POST."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def paid_order(auth_client, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    return order


def period(user) -> timedelta:
    subscription = Subscription.objects.get(user=user)
    return subscription.current_period_end - subscription.current_period_start


def assert_nothing_changed(portone):
    assert Payment.objects.get().status == PaymentStatus.READY
    assert not Subscription.objects.exists()
    assert not ProcessedWebhook.objects.exists()
    assert portone.requests == []


def test_transaction_paid_webhook_grants_premium(hook_client, user, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])

    response = send_webhook(hook_client, body, signed_headers(body, webhook_id="msg_paid_1"))

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"duplicate": False, "outcome": "synced: PAID"}
    assert Payment.objects.get().status == PaymentStatus.PAID
    assert period(user) == timedelta(days=30)
    stored = ProcessedWebhook.objects.get()
    assert (stored.webhook_id, stored.event_type, stored.payment_id) == (
        "msg_paid_1",
        "Transaction.Paid",
        paid_order["payment_id"],
    )


def test_webhook_then_browser_completion_grants_once(auth_client, hook_client, user, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    assert send_webhook(hook_client, body, signed_headers(body)).status_code == 200

    response = complete(auth_client, paid_order["payment_id"])

    assert response.status_code == 200
    assert period(user) == timedelta(days=30)


def test_browser_completion_then_webhook_grants_once(auth_client, hook_client, user, portone, paid_order):
    assert complete(auth_client, paid_order["payment_id"]).status_code == 200
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])

    response = send_webhook(hook_client, body, signed_headers(body))

    assert response.status_code == 200
    assert response.json()["data"]["outcome"] == "synced: PAID"
    assert period(user) == timedelta(days=30)


def test_a_replayed_webhook_is_a_no_op(hook_client, user, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    assert send_webhook(hook_client, body, signed_headers(body, webhook_id="msg_retry")).status_code == 200
    asked = len(portone.requests)

    # PortOne retries (up to 5 times) with the same webhook-id and a fresh signature
    for _ in range(5):
        response = send_webhook(hook_client, body, signed_headers(body, webhook_id="msg_retry"))
        assert response.status_code == 200
        assert response.json()["data"] == {"duplicate": True, "outcome": "already processed"}

    assert len(portone.requests) == asked  # not even PortOne was asked again
    assert ProcessedWebhook.objects.count() == 1
    assert period(user) == timedelta(days=30)


def test_distinct_deliveries_for_one_payment_still_grant_once(hook_client, user, portone, paid_order):
    for n in range(3):
        body = webhook_body("Transaction.Paid", paid_order["payment_id"])
        assert send_webhook(hook_client, body, signed_headers(body, webhook_id=f"msg_{n}")).status_code == 200
    assert ProcessedWebhook.objects.count() == 3
    assert period(user) == timedelta(days=30)


def test_a_bad_signature_is_400_and_changes_nothing(hook_client, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    headers = signed_headers(body, secret="whsec_" + "QUJD" * 8)  # someone else's secret

    error = assert_error(send_webhook(hook_client, body, headers), 400, "invalid_webhook")

    assert error["details"] == {"reason": "NO_MATCHING_SIGNATURE"}
    assert_nothing_changed(portone)


def test_a_tampered_body_is_400(hook_client, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    headers = signed_headers(body)
    tampered = body.replace(paid_order["payment_id"], "stk_" + "f" * 32)

    assert_error(send_webhook(hook_client, tampered, headers), 400, "invalid_webhook")
    assert_nothing_changed(portone)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_400(hook_client, portone, paid_order, missing):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    headers = signed_headers(body)
    del headers[missing]

    error = assert_error(send_webhook(hook_client, body, headers), 400, "invalid_webhook")

    assert error["details"] == {"reason": "MISSING_REQUIRED_HEADERS"}
    assert_nothing_changed(portone)


@pytest.mark.parametrize(
    ("shift", "reason"), [(timedelta(minutes=-10), "TIMESTAMP_TOO_OLD"), (timedelta(minutes=10), "TIMESTAMP_TOO_NEW")]
)
def test_a_timestamp_outside_five_minutes_is_400(hook_client, portone, paid_order, shift, reason):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    headers = signed_headers(body, sent_at=datetime.now(UTC) + shift)  # correctly signed, but stale or early

    error = assert_error(send_webhook(hook_client, body, headers), 400, "invalid_webhook")

    assert error["details"] == {"reason": reason}
    assert_nothing_changed(portone)


def test_a_timestamp_four_minutes_old_is_accepted(hook_client, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    headers = signed_headers(body, sent_at=datetime.now(UTC) - timedelta(minutes=4))
    assert send_webhook(hook_client, body, headers).status_code == 200


def test_an_unknown_event_type_is_acknowledged_and_ignored(hook_client, portone, paid_order):
    body = json.dumps(
        {
            "type": "Transaction.SomethingNew",
            "timestamp": "2026-11-25T00:00:00Z",
            "data": {"paymentId": paid_order["payment_id"], "storeId": STORE_ID},
        }
    )

    response = send_webhook(hook_client, body, signed_headers(body))

    assert response.status_code == 200
    assert "ignored" in response.json()["data"]["outcome"]
    assert Payment.objects.get().status == PaymentStatus.READY
    assert portone.requests == []


def test_a_billing_key_event_is_acknowledged_and_ignored(hook_client, portone, paid_order):
    body = json.dumps(
        {
            "type": "BillingKey.Issued",
            "timestamp": "2026-11-25T00:00:00Z",
            "data": {"storeId": STORE_ID, "billingKey": "billing-key-1"},
        }
    )
    assert send_webhook(hook_client, body, signed_headers(body)).status_code == 200
    assert portone.requests == []


def test_webhooks_for_payments_that_are_not_ours_are_ignored(hook_client, portone, paid_order):
    unknown = webhook_body("Transaction.Paid", "stk_" + "a" * 32)
    other_store = webhook_body("Transaction.Paid", paid_order["payment_id"], store_id="store-someone-else")

    for body in (unknown, other_store):
        response = send_webhook(hook_client, body, signed_headers(body))
        assert response.status_code == 200
        assert response.json()["data"]["outcome"].startswith("ignored")

    assert Payment.objects.get().status == PaymentStatus.READY
    assert portone.requests == []


NESTED_PAST_PARSING = '{"type": "x", "data": ' + "[" * 50_000 + "]" * 50_000 + "}"  # RecursionError in json


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"a string"', NESTED_PAST_PARSING])
def test_a_signed_body_that_is_not_a_json_object_is_400(hook_client, portone, paid_order, body):
    assert_error(send_webhook(hook_client, body, signed_headers(body)), 400, "invalid_webhook")
    assert_nothing_changed(portone)


def test_transaction_cancelled_webhook_ends_the_premium(auth_client, hook_client, user, portone, paid_order):
    assert complete(auth_client, paid_order["payment_id"]).status_code == 200
    portone.payments[paid_order["payment_id"]].status = "CANCELLED"  # refunded in PortOne's console
    body = webhook_body("Transaction.Cancelled", paid_order["payment_id"])

    assert send_webhook(hook_client, body, signed_headers(body)).status_code == 200

    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert Subscription.objects.get(user=user).status == SubscriptionStatus.CANCELLED
    assert auth_client.get("/api/v1/auth/me").json()["is_premium"] is False


def test_when_portone_is_down_the_webhook_fails_so_portone_retries(hook_client, settings, user, portone, paid_order):
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    base = settings.PORTONE_API_BASE
    settings.PORTONE_API_BASE = "http://127.0.0.1:9"

    assert_error(send_webhook(hook_client, body, signed_headers(body, webhook_id="msg_x")), 502, "portone_unavailable")
    assert not ProcessedWebhook.objects.exists()  # not recorded: the retry must do the work

    settings.PORTONE_API_BASE = base
    assert send_webhook(hook_client, body, signed_headers(body, webhook_id="msg_x")).status_code == 200
    assert period(user) == timedelta(days=30)


def test_without_a_webhook_secret_webhooks_are_refused(hook_client, settings, portone, paid_order):
    settings.PORTONE_WEBHOOK_SECRET = ""
    body = webhook_body("Transaction.Paid", paid_order["payment_id"])
    assert_error(send_webhook(hook_client, body, signed_headers(body)), 503, "webhook_not_configured")
    assert_nothing_changed(portone)
