"""Payments API against a fake PortOne over real HTTP (docs/architecture.md §9, §10)."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from payments.models import Payment, PaymentStatus, Product, Subscription, SubscriptionStatus
from tests.factories import UserFactory, open_account_for
from tests.fake_portone import (
    COMPLETE_URL,
    PREPARE_URL,
    STORE_ID,
    complete,
    pay_at_portone,
    prepare,
    running_fake_portone,
)
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


def other_client() -> tuple[APIClient, object]:
    other = UserFactory()
    open_account_for(other)
    client = APIClient()
    client.force_authenticate(user=other)
    return client, other


# --- prepare -----------------------------------------------------------------------------


def test_prepare_answers_what_the_payment_window_needs_at_the_catalogue_price(auth_client, user, portone):
    response = auth_client.post(PREPARE_URL, {"product": "premium_monthly"}, format="json")

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == {"store_id", "channel_key", "payment_id", "order_name", "amount", "currency"}
    assert data["store_id"] == STORE_ID
    assert data["channel_key"]
    assert data["amount"] == 9900
    assert data["currency"] == "KRW"
    payment = Payment.objects.get(payment_id=data["payment_id"])
    assert (payment.user, payment.status, payment.amount, payment.period_days) == (
        user,
        PaymentStatus.READY,
        Decimal(9900),
        30,
    )
    assert data["order_name"] == payment.order_name


def test_prepare_uses_the_yearly_price_and_unguessable_ids(auth_client, portone):
    first, second = prepare(auth_client, "premium_yearly"), prepare(auth_client, "premium_yearly")
    assert first["amount"] == 99000
    assert first["payment_id"] != second["payment_id"]
    assert len(first["payment_id"]) >= 32  # 128 random bits


def test_prepare_never_takes_the_amount_from_the_client(auth_client, portone):
    response = auth_client.post(
        PREPARE_URL, {"product": "premium_monthly", "amount": 1, "currency": "USD"}, format="json"
    )
    assert response.json()["data"]["amount"] == 9900
    assert Payment.objects.get().amount == Decimal(9900)


@pytest.mark.parametrize(
    "body", [{}, {"product": "premium_lifetime"}, {"product": 5}, {"product": None}, {"product": ["premium_monthly"]}]
)
def test_prepare_rejects_unknown_products_and_writes_nothing(auth_client, portone, body):
    error = assert_error(auth_client.post(PREPARE_URL, body, format="json"), 400, "validation_error")
    assert "product" in error["details"]
    assert not Payment.objects.exists()


def test_an_inactive_product_cannot_be_bought(auth_client, portone):
    Product.objects.filter(code="premium_yearly").update(is_active=False)
    assert_error(auth_client.post(PREPARE_URL, {"product": "premium_yearly"}, format="json"), 400, "validation_error")
    assert not Payment.objects.exists()


def test_malformed_json_is_a_400_in_the_error_shape(auth_client, portone):
    response = auth_client.post(PREPARE_URL, data="{nope", content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("url", [PREPARE_URL, COMPLETE_URL, "/api/v1/payments", "/api/v1/payments/subscription"])
def test_payments_need_authentication(api_client, url):
    response = api_client.get(url) if "portone" not in url else api_client.post(url, {}, format="json")
    assert_error(response, 401, "not_authenticated")


# --- complete ----------------------------------------------------------------------------


def test_happy_path_prepare_pay_complete_makes_the_user_premium(auth_client, user, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)

    response = complete(auth_client, order["payment_id"])

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["payment"]["status"] == "PAID"
    assert data["payment"]["amount"] == 9900
    assert data["subscription"]["is_premium"] is True
    assert data["subscription"]["product"] == "premium_monthly"
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PAID
    assert payment.transaction_id == portone.payments[order["payment_id"]].transaction_id
    assert payment.raw_response["amount"]["total"] == 9900
    subscription = Subscription.objects.get(user=user)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=30)

    me = auth_client.get("/api/v1/auth/me").json()
    assert me["is_premium"] is True
    assert me["premium_until"] is not None
    assert auth_client.get("/api/v1/payments/subscription").json()["data"]["is_premium"] is True
    # premium raises the watchlist caps, enforced in the service: an 11th list (free: 10) is accepted
    for n in range(11):
        assert auth_client.post("/api/v1/portfolio/watchlists", {"name": f"list {n}"}, format="json").status_code == 201


def test_completing_the_same_payment_twice_grants_once(auth_client, user, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)

    first = complete(auth_client, order["payment_id"])
    end_after_first = Subscription.objects.get(user=user).current_period_end
    second = complete(auth_client, order["payment_id"])

    assert first.status_code == second.status_code == 200
    assert second.json()["data"]["payment"]["status"] == "PAID"
    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_end == end_after_first
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=30)


@pytest.mark.parametrize(
    ("overrides", "reason_part"),
    [
        ({"amount": 100}, "amount 100 paid, 9900 expected"),
        ({"amount": 99000}, "amount 99000 paid"),
        ({"currency": "USD"}, "currency USD paid, KRW expected"),
        ({"store_id": "store-someone-else"}, "store-someone-else"),
    ],
)
def test_a_paid_payment_that_does_not_match_ours_fails_without_premium(
    auth_client, user, portone, caplog, overrides, reason_part
):
    order = prepare(auth_client)
    pay_at_portone(portone, order, **overrides)

    with caplog.at_level(logging.WARNING, logger="payments"):
        error = assert_error(complete(auth_client, order["payment_id"]), 409, "payment_failed")

    assert reason_part in error["message"]
    assert error["details"] == {"payment_id": order["payment_id"], "status": "FAILED"}
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    assert reason_part in payment.failure_reason
    assert not Subscription.objects.exists()
    assert auth_client.get("/api/v1/auth/me").json()["is_premium"] is False
    assert reason_part in caplog.text  # staff see it in the logs
    assert portone.secret not in caplog.text
    # asking again changes nothing: still failed, still no premium
    assert_error(complete(auth_client, order["payment_id"]), 409, "payment_failed")
    assert not Subscription.objects.exists()


def test_a_payment_portone_reports_failed_is_failed_with_portone_reason(auth_client, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order, status="FAILED", failure_reason="카드 한도 초과")

    error = assert_error(complete(auth_client, order["payment_id"]), 409, "payment_failed")

    assert error["message"] == "카드 한도 초과"
    assert Payment.objects.get().status == PaymentStatus.FAILED
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("status", ["READY", "PAY_PENDING", "VIRTUAL_ACCOUNT_ISSUED"])
def test_a_payment_not_yet_paid_grants_nothing(auth_client, portone, status):
    order = prepare(auth_client)
    pay_at_portone(portone, order, status=status)

    error = assert_error(complete(auth_client, order["payment_id"]), 409, "payment_not_paid")

    assert error["details"]["status"] == status
    assert Payment.objects.get().status == status
    assert not Subscription.objects.exists()


def test_a_payment_portone_never_saw_stays_ready(auth_client, portone):
    order = prepare(auth_client)  # the payment window was closed: PortOne answers 404 PAYMENT_NOT_FOUND

    assert_error(complete(auth_client, order["payment_id"]), 409, "payment_not_paid")

    assert Payment.objects.get().status == PaymentStatus.READY
    assert portone.requests_for("GET", order["payment_id"])


def test_an_unknown_payment_id_is_404_and_portone_is_not_asked(auth_client, portone):
    assert_error(complete(auth_client, "stk_" + "0" * 32), 404, "payment_not_found")
    assert portone.requests == []


def test_another_users_payment_id_is_404_and_changes_nothing(auth_client, user, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    intruder, _ = other_client()

    assert_error(complete(intruder, order["payment_id"]), 404, "payment_not_found")

    assert Payment.objects.get().status == PaymentStatus.READY
    assert not Subscription.objects.exists()
    assert portone.requests == []


@pytest.mark.parametrize("body", [{}, {"payment_id": ""}, {"payment_id": "x" * 65}, {"payment_id": None}])
def test_complete_rejects_bad_input(auth_client, portone, body):
    assert_error(auth_client.post(COMPLETE_URL, body, format="json"), 400, "validation_error")
    assert portone.requests == []


def test_portone_unreachable_is_a_502_and_nothing_is_written(auth_client, settings, portone, caplog):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    settings.PORTONE_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused

    with caplog.at_level(logging.WARNING, logger="payments"):
        assert_error(complete(auth_client, order["payment_id"]), 502, "portone_unavailable")

    assert Payment.objects.get().status == PaymentStatus.READY
    assert not Subscription.objects.exists()
    assert portone.secret not in caplog.text


def test_a_wrong_api_secret_is_a_502_and_the_secret_is_not_logged(auth_client, settings, portone, caplog):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    settings.PORTONE_V2_API_SECRET = "wrong-secret-do-not-log"

    with caplog.at_level(logging.DEBUG):
        assert_error(complete(auth_client, order["payment_id"]), 502, "portone_unavailable")

    assert "UnauthorizedError" in caplog.text
    assert "wrong-secret-do-not-log" not in caplog.text
    assert Payment.objects.get().status == PaymentStatus.READY


def test_a_failed_attempt_then_a_paid_one_on_the_same_id_grants(auth_client, user, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order, status="FAILED")
    assert_error(complete(auth_client, order["payment_id"]), 409, "payment_failed")

    pay_at_portone(portone, order)  # PortOne V2 allows another attempt on one payment id

    assert complete(auth_client, order["payment_id"]).status_code == 200
    assert Subscription.objects.get(user=user).status == SubscriptionStatus.ACTIVE


# --- reads ---------------------------------------------------------------------------------


def test_payments_lists_mine_newest_first_paginated(auth_client, portone):
    first = prepare(auth_client)
    second = prepare(auth_client, "premium_yearly")
    intruder, _ = other_client()
    prepare(intruder)

    body = auth_client.get("/api/v1/payments", {"page_size": 1}).json()

    assert body["count"] == 2
    assert [p["payment_id"] for p in body["results"]] == [second["payment_id"]]
    page2 = auth_client.get("/api/v1/payments", {"page_size": 1, "page": 2}).json()
    assert [p["payment_id"] for p in page2["results"]] == [first["payment_id"]]
    assert set(body["results"][0]) >= {"payment_id", "product", "amount", "currency", "status", "created_at"}


def test_subscription_of_a_user_who_never_paid(auth_client):
    assert auth_client.get("/api/v1/payments/subscription").json() == {
        "data": {
            "is_premium": False,
            "status": None,
            "product": None,
            "current_period_start": None,
            "current_period_end": None,
        }
    }
    me = auth_client.get("/api/v1/auth/me").json()
    assert me["is_premium"] is False
    assert me["premium_until"] is None


def test_the_payments_api_is_documented(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/v1/payments/portone/prepare",
        "/api/v1/payments/portone/complete",
        "/api/v1/payments/portone/webhook",
        "/api/v1/payments",
        "/api/v1/payments/subscription",
    ]:
        operations = paths[path]
        assert all(op["tags"] == ["payments"] for op in operations.values()), path


def test_an_answer_the_sdk_cannot_read_is_a_502_and_its_body_is_not_logged(auth_client, portone, caplog):
    order = prepare(auth_client)
    pay_at_portone(portone, order, status="SOMETHING_NEW")

    with caplog.at_level(logging.WARNING, logger="payments"):
        assert_error(complete(auth_client, order["payment_id"]), 502, "portone_unavailable")

    assert Payment.objects.get().status == PaymentStatus.READY
    assert "cannot read" in caplog.text
    assert "trader@example.com" not in caplog.text  # the customer data in PortOne's body
