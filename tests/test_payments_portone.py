"""The PortOne wrapper, the fake's shapes against the SDK, reconciliation, test mode, settings and the page."""

import functools
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from portone_server_sdk import PaymentClient
from portone_server_sdk.errors import PaymentNotFoundError, UnauthorizedError
from portone_server_sdk.payment import (
    CancelledPayment,
    FailedPayment,
    PaidPayment,
    PartialCancelledPayment,
    PayPendingPayment,
    ReadyPayment,
    VirtualAccountIssuedPayment,
)

from payments import portone as portone_module
from payments.models import Payment, PaymentStatus, Subscription
from payments.services import RECONCILE_AFTER, RECONCILE_MAX_ATTEMPTS, payments_reconcile
from payments.tasks import reconcile_pending_payments
from tests.fake_portone import (
    API_SECRET,
    complete,
    ensure_catalogue,
    pay_at_portone,
    prepare,
    running_fake_portone,
)
from tests.helpers import assert_error
from tests.test_settings import PROD_ENV, ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


# --- the fake speaks PortOne: every shape is what the official SDK deserializes ------------------


@functools.cache
def sdk_client(base_url: str, secret: str = API_SECRET) -> PaymentClient:
    return PaymentClient(secret=secret, base_url=base_url)


@pytest.mark.parametrize(
    ("status", "sdk_type"),
    [
        ("PAID", PaidPayment),
        ("FAILED", FailedPayment),
        ("READY", ReadyPayment),
        ("PAY_PENDING", PayPendingPayment),
        ("VIRTUAL_ACCOUNT_ISSUED", VirtualAccountIssuedPayment),
        ("CANCELLED", CancelledPayment),
        ("PARTIAL_CANCELLED", PartialCancelledPayment),
    ],
)
def test_the_fake_answers_shapes_the_sdk_reads(portone, status, sdk_type):
    portone.set_payment("pay-shape", status=status, amount=9900)

    payment = sdk_client(portone.base_url).get_payment(payment_id="pay-shape")

    assert type(payment) is sdk_type
    assert not hasattr(payment, "status")  # why the app branches with isinstance
    assert (payment.id, payment.amount.total, payment.currency) == ("pay-shape", 9900, "KRW")


def test_the_fake_answers_portone_errors(portone):
    with pytest.raises(PaymentNotFoundError):
        sdk_client(portone.base_url).get_payment(payment_id="nope")
    with pytest.raises(UnauthorizedError):
        sdk_client(portone.base_url, "wrong").get_payment(payment_id="nope")


def test_the_wrapper_maps_not_found_to_none_and_outages_to_one_error(settings, portone):
    assert portone_module.get_payment(payment_id="never-seen") is None
    settings.PORTONE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(portone_module.PortOneUnavailable):
        portone_module.get_payment(payment_id="never-seen")


# --- reconciliation: stuck READY / PAY_PENDING payments, bounded retries -------------------------


def age(payment_id: str, by: timedelta) -> None:
    Payment.objects.filter(payment_id=payment_id).update(created_at=timezone.now() - by)


def test_reconciliation_grants_a_payment_whose_completion_never_arrived(auth_client, user, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)  # paid, but the browser closed and the webhook got lost
    age(order["payment_id"], RECONCILE_AFTER + timedelta(minutes=1))

    counts = reconcile_pending_payments.delay().get()

    assert counts == {"checked": 1, "paid": 1, "expired": 0, "unavailable": 0}
    assert Payment.objects.get().status == PaymentStatus.PAID
    assert Subscription.objects.get(user=user).is_active


def test_reconciliation_leaves_young_payments_alone(auth_client, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    assert payments_reconcile()["checked"] == 0
    assert portone.requests == []


def test_reconciliation_gives_up_after_bounded_attempts(auth_client, user, settings, portone):
    order = prepare(auth_client)  # the payment window was never completed: PortOne answers 404
    age(order["payment_id"], RECONCILE_AFTER + timedelta(minutes=1))

    for _ in range(RECONCILE_MAX_ATTEMPTS - 1):
        assert payments_reconcile()["checked"] == 1
    assert Payment.objects.get().status == PaymentStatus.READY
    settings.PORTONE_API_BASE = "http://127.0.0.1:9"  # an outage on the last attempt still counts
    assert payments_reconcile() == {"checked": 1, "paid": 0, "expired": 1, "unavailable": 1}

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    assert payment.reconcile_attempts == RECONCILE_MAX_ATTEMPTS
    assert "Expired" in payment.failure_reason
    assert payments_reconcile()["checked"] == 0  # never asked again
    assert not Subscription.objects.exists()


def test_reconciliation_mirrors_pay_pending_and_keeps_asking(auth_client, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order, status="PAY_PENDING")
    age(order["payment_id"], RECONCILE_AFTER + timedelta(minutes=1))

    payments_reconcile()
    assert Payment.objects.get().status == PaymentStatus.PAY_PENDING

    pay_at_portone(portone, order)
    payments_reconcile()
    assert Payment.objects.get().status == PaymentStatus.PAID


def test_reconciliation_is_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["reconcile-payments"]
    assert entry["task"] == "payments.tasks.reconcile_pending_payments"
    assert entry["schedule"] <= 600


# --- test mode: the keyless demo pays against the built-in fake PortOne ---------------------------


@pytest.fixture
def test_mode(settings):
    ensure_catalogue()
    settings.PORTONE_TEST_MODE = True
    for name in ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_V2_API_SECRET", "PORTONE_WEBHOOK_SECRET"):
        setattr(settings, name, "")
    settings.PORTONE_API_BASE = "http://127.0.0.1:9"  # proves nothing goes over the network in test mode


def test_in_test_mode_a_demo_user_becomes_premium_offline(auth_client, user, test_mode):
    order = prepare(auth_client)
    assert order["store_id"] == portone_module.TEST_MODE_STORE_ID
    assert order["channel_key"] == portone_module.TEST_MODE_CHANNEL_KEY

    response = complete(auth_client, order["payment_id"])

    assert response.status_code == 200, response.content
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PAID
    assert payment.raw_response["amount"]["total"] == 9900
    assert auth_client.get("/api/v1/auth/me").json()["is_premium"] is True


def test_in_test_mode_staff_refunds_through_the_fake(auth_client, user, test_mode):
    from payments.services import payment_refund

    order = prepare(auth_client)
    assert complete(auth_client, order["payment_id"]).status_code == 200

    payment_refund(payment=Payment.objects.get(), reason="demo")

    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert not Subscription.objects.get(user=user).is_active
    assert_error(complete(auth_client, order["payment_id"]), 409, "payment_not_paid")  # the fake says CANCELLED


def test_in_test_mode_unknown_payments_are_unknown_to_the_fake(test_mode):
    assert portone_module.get_payment(payment_id="stk_unknown") is None


def test_the_premium_page_labels_test_mode(client, user, test_mode):
    client.force_login(user)
    page = client.get("/premium/").content.decode()
    assert "테스트 모드" in page  # Korean first (docs/architecture.md §14)
    assert 'data-test-mode="true"' in page


# --- the page -------------------------------------------------------------------------------------


def test_the_premium_page_shows_plans_history_and_an_active_nav_link(client, user, settings, portone):
    settings.PORTONE_TEST_MODE = False
    client.force_login(user)

    page = client.get("/premium/").content.decode()

    assert "9,900원" in page
    assert "99,000원" in page
    assert '<a href="/premium/" class="active">프리미엄</a>' in page
    assert "테스트 모드" not in page
    assert "vendor/portone/browser-sdk-v2.esm.js" in page
    assert "cdn.portone.io" not in page
    assert "결제 내역이 없습니다" in page


def test_the_premium_page_needs_a_login(client):
    response = client.get("/premium/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_account_panel_refreshes_alone(client, user, auth_client, portone):
    order = prepare(auth_client)
    pay_at_portone(portone, order)
    complete(auth_client, order["payment_id"])
    client.force_login(user)

    panel = client.get("/premium/account/").content.decode()

    assert 'id="premium-subscription"' in panel
    assert 'id="premium-history"' in panel
    assert "프리미엄" in panel
    assert order["payment_id"] in panel


# --- settings ---------------------------------------------------------------------------------
# Importing the settings module in a fresh interpreter is enough (and much faster than manage.py).

PORTONE_KEYS = ["PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_V2_API_SECRET", "PORTONE_WEBHOOK_SECRET"]
PRINT_TEST_MODE = "import importlib, sys; print(importlib.import_module(sys.argv[1]).PORTONE_TEST_MODE)"


def import_settings(module: str, env: dict, drop=()) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PORTONE_", "PYTEST", "DJANGO_"))}
    environ.update(env)
    for key in drop:
        environ.pop(key, None)
    return subprocess.run(
        [sys.executable, "-c", PRINT_TEST_MODE, module],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", PORTONE_KEYS)
def test_production_refuses_to_start_without_portone_keys(missing):
    result = import_settings("stocking.settings.production", PROD_ENV, drop=(missing,))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr
    for name in PORTONE_KEYS:  # the message names variables, never their values
        assert PROD_ENV[name] not in result.stderr


def test_production_never_runs_in_test_mode():
    result = import_settings("stocking.settings.production", {**PROD_ENV, "PORTONE_TEST_MODE": "true", "DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEBUG": "true"}, "True"),
        ({"DEBUG": "false"}, "False"),
        ({"DEBUG": "true", "PORTONE_STORE_ID": "store-1", "PORTONE_V2_API_SECRET": "secret-1"}, "False"),
        ({"DEBUG": "false", "PORTONE_TEST_MODE": "true"}, "True"),
    ],
)
def test_test_mode_defaults_to_debug_without_keys(env, expected):
    result = import_settings("stocking.settings.base", {"SECRET_KEY": "test-only-local-key", **env})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
