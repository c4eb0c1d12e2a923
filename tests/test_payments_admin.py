"""Staff: payments and subscriptions in the admin, and the refund action that cancels at PortOne."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from rest_framework.test import APIClient

from payments.models import Payment, PaymentStatus, Product, Subscription, SubscriptionStatus
from payments.services import payment_refund
from tests.fake_portone import (
    complete,
    pay_at_portone,
    prepare,
    running_fake_portone,
    send_webhook,
    signed_headers,
    webhook_body,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/payment/"


@pytest.fixture
def admin_client(admin_client):
    """The admin messages below are compared in English (pages are Korean by default)."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


@pytest.fixture
def paid(auth_client, portone) -> Payment:
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    assert complete(auth_client, order["payment_id"]).status_code == 200
    return Payment.objects.get(payment_id=order["payment_id"])


def refund(admin_client, payments, reason="Customer asked"):
    selected = [p.pk for p in payments]
    confirm = admin_client.post(CHANGELIST, {"action": "refund_payments", "_selected_action": selected})
    assert confirm.status_code == 200
    assert "reason" in confirm.content.decode()
    form = {"action": "refund_payments", "_selected_action": selected, "apply": "1", "reason": reason}
    return admin_client.post(CHANGELIST, form, follow=True)


def test_the_refund_action_cancels_at_portone_and_ends_the_subscription(admin_client, auth_client, user, portone, paid):
    response = refund(admin_client, [paid], reason="Customer asked")

    assert "Refunded 1 payment" in response.content.decode()
    assert portone.requests_for("POST", f"{paid.payment_id}/cancel")
    assert portone.payments[paid.payment_id].status == "CANCELLED"
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.CANCELLED
    assert paid.cancelled_at is not None
    subscription = Subscription.objects.get(user=user)
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert not subscription.is_active
    assert auth_client.get("/api/v1/auth/me").json()["is_premium"] is False
    assert LogEntry.objects.filter(object_id=str(paid.pk), change_message__contains="Customer asked").exists()


def test_refunding_one_of_two_payments_takes_back_only_its_days(admin_client, auth_client, user, portone, paid):
    end_with_one = Subscription.objects.get(user=user).current_period_end
    order = prepare(auth_client, "premium_yearly")
    pay_at_portone(portone, order)
    assert complete(auth_client, order["payment_id"]).status_code == 200

    refund(admin_client, [Payment.objects.get(payment_id=order["payment_id"])])

    subscription = Subscription.objects.get(user=user)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.current_period_end == end_with_one


def test_refunding_twice_is_harmless(admin_client, user, portone, paid):
    refund(admin_client, [paid])
    # selected again: it is CANCELLED now, so the action says so and does not call PortOne again
    response = admin_client.post(CHANGELIST, {"action": "refund_payments", "_selected_action": [paid.pk]}, follow=True)
    assert "nothing to refund" in response.content.decode()
    assert len(portone.requests_for("POST", "/cancel")) == 1


def test_a_payment_already_cancelled_at_portone_is_marked_cancelled(admin_client, user, portone, paid):
    portone.payments[paid.payment_id].status = "CANCELLED"  # cancelled in PortOne's console, no webhook yet

    response = refund(admin_client, [paid])

    assert "Refunded 1 payment" in response.content.decode()
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.CANCELLED
    assert Subscription.objects.get(user=user).status == SubscriptionStatus.CANCELLED


def test_unpaid_payments_are_not_refunded(admin_client, auth_client, portone):
    prepare(auth_client)
    response = admin_client.post(
        CHANGELIST, {"action": "refund_payments", "_selected_action": [Payment.objects.get().pk]}, follow=True
    )
    assert "nothing to refund" in response.content.decode()
    assert portone.requests == []


def test_when_portone_refuses_the_refund_nothing_changes(admin_client, user, settings, portone, paid):
    settings.PORTONE_API_BASE = "http://127.0.0.1:9"
    response = refund(admin_client, [paid])
    assert "Not refunded" in response.content.decode()
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID
    assert Subscription.objects.get(user=user).is_active


def test_payments_and_subscriptions_are_searchable_and_filterable(admin_client, user, paid):
    for url in [
        f"{CHANGELIST}?q={paid.payment_id}",
        f"{CHANGELIST}?q={user.username}",
        f"{CHANGELIST}?status__exact=PAID",
        f"/admin/payments/subscription/?q={user.username}",
        "/admin/payments/subscription/?status__exact=ACTIVE",
        "/admin/payments/product/",
        "/admin/payments/processedwebhook/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert paid.payment_id in admin_client.get(f"{CHANGELIST}?q={user.username}").content.decode()


def test_money_fields_are_read_only_in_the_admin(admin_client, paid):
    url = f"{CHANGELIST}{paid.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="amount"' not in page
    assert 'name="status"' not in page
    assert 'name="_save"' not in page  # a payment is only ever viewed
    assert admin_client.post(url, {"amount": "1", "status": "CANCELLED", "currency": "USD"}).status_code == 403
    paid.refresh_from_db()
    assert (paid.amount, paid.status, paid.currency) == (Decimal(9900), PaymentStatus.PAID, "KRW")


def test_a_price_change_in_the_admin_applies_to_new_payments_only(admin_client, auth_client, portone):
    before = prepare(auth_client)
    product = Product.objects.get(code="premium_monthly")
    response = admin_client.post(
        f"/admin/payments/product/{product.pk}/change/",
        {"name": product.name, "price": "12900", "period_days": "30", "is_active": "on", "position": "0"},
    )
    assert response.status_code == 302, response.content[:2000]

    after = prepare(auth_client)

    assert (before["amount"], after["amount"]) == (9900, 12900)
    assert Payment.objects.get(payment_id=before["payment_id"]).amount == Decimal(9900)


def test_a_refund_racing_the_cancelled_webhook_takes_the_days_back_once(auth_client, user, portone, paid):
    order = prepare(auth_client, "premium_yearly")
    pay_at_portone(portone, order)
    assert complete(auth_client, order["payment_id"]).status_code == 200
    end_with_both = Subscription.objects.get(user=user).current_period_end
    stale = Payment.objects.get(pk=paid.pk)  # what the admin page loaded: PAID
    portone.payments[paid.payment_id].status = "CANCELLED"
    body = webhook_body("Transaction.Cancelled", paid.payment_id)
    assert send_webhook(APIClient(), body, signed_headers(body)).status_code == 200  # the webhook wins the race

    payment_refund(payment=stale, reason="late click")  # PortOne: already cancelled; ours: already CANCELLED

    assert Payment.objects.get(pk=paid.pk).status == PaymentStatus.CANCELLED
    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_end == end_with_both - timedelta(days=30)
    assert subscription.status == SubscriptionStatus.ACTIVE
