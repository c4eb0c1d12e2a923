"""PAYMENTS_ENABLED=false: an operator runs without PortOne; the page says so and the API answers 503."""

import pytest
from django.urls import reverse

from payments.models import Payment, PaymentStatus, Product
from tests.fake_portone import (
    COMPLETE_URL,
    PREPARE_URL,
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
def page_client(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # these tests read the English texts; Korean is the default
    return client


@pytest.fixture
def payments_off(settings, portone):
    """Payments turned off on a server that otherwise has working keys: nothing may reach PortOne."""
    settings.PAYMENTS_ENABLED = False
    return portone


def test_the_premium_page_says_payments_are_off_without_a_buy_button(page_client, payments_off):
    response = page_client.get(reverse("premium"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="payments-disabled"' in page
    assert "Payments are turned off on this server" in page
    assert "data-buy=" not in page
    assert "browser-sdk" not in page  # no PortOne payment window to open
    assert 'data-testid="plans"' in page  # what premium costs is still shown


def test_the_premium_page_offers_the_plans_when_payments_are_on(page_client, portone):
    page = page_client.get(reverse("premium")).content.decode()
    assert 'data-testid="payments-disabled"' not in page
    assert 'data-buy="premium_monthly"' in page


def test_prepare_answers_payments_disabled_and_writes_nothing(auth_client, payments_off):
    response = auth_client.post(PREPARE_URL, {"product": "premium_monthly"}, format="json")

    error = assert_error(response, 503, "payments_disabled")
    assert "PAYMENTS_ENABLED" not in error["message"]  # the customer is told, not the operator's setting
    assert not Payment.objects.exists()
    assert payments_off.requests == []


def test_complete_answers_payments_disabled_without_asking_portone(auth_client, settings, portone):
    order = prepare(auth_client)  # made while payments were on
    pay_at_portone(portone, order)
    settings.PAYMENTS_ENABLED = False
    portone.requests.clear()

    assert_error(complete(auth_client, order["payment_id"]), 503, "payments_disabled")
    assert Payment.objects.get(payment_id=order["payment_id"]).status == PaymentStatus.READY
    assert portone.requests == []


def test_complete_rejects_even_bad_input_as_disabled_first(auth_client, payments_off):
    assert_error(auth_client.post(COMPLETE_URL, {}, format="json"), 503, "payments_disabled")


def test_a_webhook_is_answered_payments_disabled_and_changes_nothing(api_client, auth_client, settings, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    settings.PAYMENTS_ENABLED = False
    portone.requests.clear()
    body = webhook_body("Transaction.Paid", order["payment_id"])

    assert_error(send_webhook(api_client, body, signed_headers(body)), 503, "payments_disabled")
    assert Payment.objects.get(payment_id=order["payment_id"]).status == PaymentStatus.READY
    assert portone.requests == []


def test_history_and_subscription_still_answer(auth_client, payments_off):
    assert auth_client.get("/api/v1/payments").status_code == 200
    assert auth_client.get("/api/v1/payments/subscription").status_code == 200
    assert Product.objects.exists()
