"""Every write of the payments app (docs/architecture.md §10, STYLE.md).

One rule shapes it: no network call while holding a row lock. Each flow asks PortOne first, then
locks our Payment row (select_for_update), re-checks its state and writes. PAID on our record means
the premium period was granted, in the same transaction, so the grant happens exactly once however
browser completions, webhooks (retried by PortOne) and the reconciliation task interleave.
Lock order, everywhere: the payment row, then the user's subscription row.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from portone_server_sdk.payment import (
    CancelledPayment,
    FailedPayment,
    PaidPayment,
    PartialCancelledPayment,
    PayPendingPayment,
    ReadyPayment,
    VirtualAccountIssuedPayment,
)

from payments import portone
from payments.errors import PaymentNotRefundable, PortOneUnavailable
from payments.models import (
    GRANTABLE_STATUSES,
    RECONCILED_STATUSES,
    Payment,
    PaymentStatus,
    ProcessedWebhook,
    Product,
    Subscription,
    SubscriptionStatus,
)
from payments.selectors import payment_get_for_user

logger = logging.getLogger(__name__)

# Reconciliation (payments.tasks, every 5 minutes by CELERY_BEAT_SCHEDULE): ask again about payments stuck
# in READY or PAY_PENDING for longer than RECONCILE_AFTER, at most RECONCILE_MAX_ATTEMPTS times, then give up.
RECONCILE_AFTER = timedelta(minutes=10)
RECONCILE_MAX_ATTEMPTS = 12  # about an hour of checks
RECONCILE_BATCH = 200

_MIRRORED = {  # SDK payment type -> our status, for the not-yet-final states
    ReadyPayment: PaymentStatus.READY,
    PayPendingPayment: PaymentStatus.PAY_PENDING,
    VirtualAccountIssuedPayment: PaymentStatus.VIRTUAL_ACCOUNT_ISSUED,
}
_WAITING = (PaymentStatus.READY, PaymentStatus.PAY_PENDING, PaymentStatus.VIRTUAL_ACCOUNT_ISSUED)
_GRANTED = (PaymentStatus.PAID, PaymentStatus.PARTIAL_CANCELLED)


def new_payment_id() -> str:
    """Ours and unguessable (128 random bits); PortOne knows the payment by it."""
    return f"stk_{secrets.token_hex(16)}"


def payment_prepare(*, user, product: Product) -> Payment:
    """A READY payment for the product at the catalogue's price (never a price from the client)."""
    with transaction.atomic(durable=True):
        return Payment.objects.create(
            payment_id=new_payment_id(),
            user=user,
            product=product,
            order_name=product.name,
            amount=product.price,
            currency=product.currency,
            period_days=product.period_days,
        )


def payment_complete(*, user, payment_id: str) -> Payment:
    """The browser says it paid: verify with PortOne. Another user's payment id raises PaymentNotFound (404)."""
    return payment_sync(payment=payment_get_for_user(user=user, payment_id=payment_id))


def payment_sync(*, payment: Payment) -> Payment:
    """Fetch the payment from PortOne, then bring our record in line under its row lock.

    A PAID payment whose amount, currency and store match ours grants the premium period once; a
    mismatch marks ours FAILED with the reason (and is logged for staff), granting nothing.
    Raises PortOneUnavailable (nothing written) when PortOne cannot be asked.
    """
    remote = portone.get_payment(payment_id=payment.payment_id)
    return _payment_apply(payment_pk=payment.pk, remote=remote)


def _payment_apply(*, payment_pk: int, remote) -> Payment:
    store_id = portone.config().store_id
    with transaction.atomic(durable=True):
        payment = Payment.objects.select_for_update().select_related("product").get(pk=payment_pk)
        if remote is None:
            return payment  # PortOne has not seen it: the payment window was never completed
        if isinstance(remote, PaidPayment):
            _apply_paid(payment, remote, store_id)
        elif isinstance(remote, FailedPayment):
            if payment.status in _WAITING:
                failure = remote.failure
                reason = failure.pg_message or failure.reason or "The payment failed at PortOne."
                _save(payment, remote, status=PaymentStatus.FAILED, failure_reason=reason)
        elif isinstance(remote, CancelledPayment):
            if payment.status in _GRANTED:
                _subscription_shorten(payment)
            if payment.status != PaymentStatus.CANCELLED:
                _save(payment, remote, status=PaymentStatus.CANCELLED, cancelled_at=timezone.now())
        elif isinstance(remote, PartialCancelledPayment):
            if payment.status == PaymentStatus.PAID:
                logger.warning("Payment %s was partly cancelled at PortOne; premium kept", payment.payment_id)
                _save(payment, remote, status=PaymentStatus.PARTIAL_CANCELLED)
        elif type(remote) in _MIRRORED:
            if payment.status in _WAITING and payment.status != _MIRRORED[type(remote)]:
                _save(payment, remote, status=_MIRRORED[type(remote)])
        else:
            logger.warning("PortOne answered an unknown payment shape for %s; ignored", payment.payment_id)
    return payment


def _apply_paid(payment: Payment, remote: PaidPayment, store_id: str) -> None:
    if payment.status not in GRANTABLE_STATUSES:
        return  # PAID: granted before, so nothing to do; CANCELLED: refunded, never granted again
    problems = []
    if remote.store_id != store_id:
        problems.append(f"paid to store {remote.store_id!r}, not ours")
    if remote.amount.total != int(payment.amount):
        problems.append(f"amount {remote.amount.total} paid, {int(payment.amount)} expected")
    if remote.currency != payment.currency:
        problems.append(f"currency {remote.currency} paid, {payment.currency} expected")
    if problems:
        reason = f"PortOne reports it paid, but {'; '.join(problems)}. No premium was granted; staff will refund it."
        logger.warning("Payment %s of user %s rejected: %s", payment.payment_id, payment.user_id, reason)
        _save(payment, remote, status=PaymentStatus.FAILED, failure_reason=reason)
        return
    subscription = _subscription_extend(payment)
    _save(payment, remote, status=PaymentStatus.PAID, failure_reason="", paid_at=timezone.now())
    logger.info(
        "Premium granted: payment %s, user %s, until %s",
        payment.payment_id,
        payment.user_id,
        subscription.current_period_end.isoformat(),
    )


def _save(payment: Payment, remote, **changes) -> None:
    for name, value in changes.items():
        setattr(payment, name, value)
    payment.raw_response = portone.as_json(remote)
    payment.transaction_id = getattr(remote, "transaction_id", "") or payment.transaction_id
    payment.save(update_fields=[*changes, "raw_response", "transaction_id", "updated_at"])


def _subscription_extend(payment: Payment) -> Subscription:
    """Add the payment's days: from the current end while premium lasts, else from now.

    The caller holds the payment's row lock; this locks (or creates) the user's subscription row.
    """
    now = timezone.now()
    days = timedelta(days=payment.period_days)
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        user_id=payment.user_id,
        defaults={"product": payment.product, "current_period_start": now, "current_period_end": now + days},
    )
    if created:
        return subscription
    if subscription.is_active:
        subscription.current_period_end += days
    else:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.current_period_start = now
        subscription.current_period_end = now + days
    subscription.product = payment.product
    subscription.save()
    return subscription


def _subscription_shorten(payment: Payment) -> None:
    """Take back the days a refunded payment gave; when none are left, the subscription ends now."""
    subscription = Subscription.objects.select_for_update().filter(user_id=payment.user_id).first()
    if subscription is None or not subscription.is_active:
        return
    now = timezone.now()
    end = subscription.current_period_end - timedelta(days=payment.period_days)
    if end <= now:
        subscription.status = SubscriptionStatus.CANCELLED
        end = max(now, subscription.current_period_start)
    subscription.current_period_end = end
    subscription.save()


def payment_refund(*, payment: Payment, reason: str, staff_user=None) -> Payment:
    """Staff refund: cancel the whole payment at PortOne, then mark ours CANCELLED and take the premium back.

    Raises PaymentNotRefundable for unpaid payments, RefundRefused with PortOne's message,
    PortOneUnavailable. Safe to repeat and to race the Transaction.Cancelled webhook: one revocation.
    """
    if payment.status not in _GRANTED:
        raise PaymentNotRefundable()
    reason = reason.strip() or "Refunded by staff"
    cancellation = portone.cancel_payment(payment_id=payment.payment_id, reason=reason)
    with transaction.atomic(durable=True):
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.CANCELLED:
            return payment  # the webhook got there first
        if payment.status in _GRANTED:
            _subscription_shorten(payment)
        payment.status = PaymentStatus.CANCELLED
        payment.cancelled_at = timezone.now()
        payment.raw_response = cancellation
        payment.save(update_fields=["status", "cancelled_at", "raw_response", "updated_at"])
    logger.info("Payment %s refunded by %s: %s", payment.payment_id, getattr(staff_user, "username", "?"), reason)
    return payment


# --- webhooks -----------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    duplicate: bool
    outcome: str


def webhook_process(*, webhook_id: str, event_type: str, event) -> WebhookOutcome:
    """Act once on a verified webhook: a transaction event makes us ask PortOne again (never trust the body).

    Unknown types, billing-key events, other stores' and unknown payments are acknowledged and ignored.
    The webhook id is stored after the work, so a PortOneUnavailable (raised, nothing stored) lets
    PortOne's retry do it; a replay of a stored id is a no-op.
    """
    if ProcessedWebhook.objects.filter(webhook_id=webhook_id).exists():
        return WebhookOutcome(True, "already processed")
    data = getattr(event, "data", None)
    payment_id = getattr(data, "payment_id", None)
    if isinstance(event, dict) or payment_id is None:
        outcome = f"ignored: {event_type or 'unknown'} is not a payment event we handle"
    elif getattr(data, "store_id", None) != portone.config().store_id:
        outcome = "ignored: another store's payment"
    elif (payment := Payment.objects.filter(payment_id=payment_id).first()) is None:
        outcome = "ignored: not our payment"
    else:
        outcome = f"synced: {payment_sync(payment=payment).status}"
    with transaction.atomic(durable=True):
        _, created = ProcessedWebhook.objects.get_or_create(
            webhook_id=webhook_id,
            defaults={"event_type": event_type[:64], "payment_id": (payment_id or "")[:64], "outcome": outcome},
        )
    return WebhookOutcome(not created, outcome)


# --- reconciliation -------------------------------------------------------------------


def payments_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Ask PortOne again about payments stuck in READY/PAY_PENDING; bounded: give up after RECONCILE_MAX_ATTEMPTS.

    A payment that is still not paid at its last attempt is marked FAILED (expired). Each attempt is
    counted before PortOne is asked, so an outage cannot make the retries unbounded.
    """
    now = now or timezone.now()
    stuck = list(
        Payment.objects.filter(
            status__in=RECONCILED_STATUSES,
            created_at__lt=now - RECONCILE_AFTER,
            reconcile_attempts__lt=RECONCILE_MAX_ATTEMPTS,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    counts = {"checked": 0, "paid": 0, "expired": 0, "unavailable": 0}
    for pk in stuck:
        counted = Payment.objects.filter(pk=pk, status__in=RECONCILED_STATUSES).update(
            reconcile_attempts=F("reconcile_attempts") + 1
        )
        if not counted:
            continue  # resolved meanwhile
        payment = Payment.objects.get(pk=pk)
        counts["checked"] += 1
        try:
            payment = payment_sync(payment=payment)
        except PortOneUnavailable:
            counts["unavailable"] += 1
        if payment.status == PaymentStatus.PAID:
            counts["paid"] += 1
        elif payment.status in RECONCILED_STATUSES and payment.reconcile_attempts >= RECONCILE_MAX_ATTEMPTS:
            counts["expired"] += _payment_expire(payment_pk=pk)
    return counts


def _payment_expire(*, payment_pk: int) -> int:
    with transaction.atomic(durable=True):
        payment = Payment.objects.select_for_update().get(pk=payment_pk)
        if payment.status not in RECONCILED_STATUSES:
            return 0
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = f"Expired: not paid after {payment.reconcile_attempts} checks with PortOne."
        payment.save(update_fields=["status", "failure_reason", "updated_at"])
    logger.info("Payment %s expired unpaid", payment.payment_id)
    return 1
