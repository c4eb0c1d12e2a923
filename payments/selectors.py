"""Reads of the catalogue, payments and premium entitlement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from payments.errors import PaymentNotFound
from payments.models import Payment, Product, Subscription

# What premium raises (the perks the premium page sells): watchlists per user, stocks per list.
FREE_WATCHLIST_LIMITS = (10, 50)
PREMIUM_WATCHLIST_LIMITS = (50, 200)


@dataclass(frozen=True)
class PremiumStatus:
    is_premium: bool
    premium_until: datetime | None  # the end of the paid period while premium, else None


def products_for_sale() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).order_by("position", "id")


def subscription_get(*, user) -> Subscription | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Subscription.objects.select_related("product").filter(user=user).first()


def premium_status_of(subscription: Subscription | None) -> PremiumStatus:
    """Premium = an ACTIVE subscription whose period ends in the future (Subscription.is_active):
    expiry needs no scheduled job."""
    if subscription is None or not subscription.is_active:
        return PremiumStatus(False, None)
    return PremiumStatus(True, subscription.current_period_end)


def premium_status(*, user) -> PremiumStatus:
    return premium_status_of(subscription_get(user=user))


def user_is_premium(*, user) -> bool:
    return premium_status(user=user).is_premium


def payments_for(*, user) -> QuerySet[Payment]:
    return Payment.objects.filter(user=user).select_related("product").order_by("-created_at", "-id")


def payment_get_for_user(*, user, payment_id: str) -> Payment:
    """Another user's payment answers 404, exactly like a missing one."""
    payment = Payment.objects.select_related("product").filter(user=user, payment_id=payment_id).first()
    if payment is None:
        raise PaymentNotFound()
    return payment
