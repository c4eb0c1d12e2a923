"""What premium gives, enforced in the services: renewals, expiry, watchlist caps, account resets."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from marketdata.models import Stock
from payments.models import Product, Subscription, SubscriptionStatus
from payments.selectors import FREE_WATCHLIST_LIMITS, PREMIUM_WATCHLIST_LIMITS, premium_status, user_is_premium
from portfolio.errors import LimitReached
from portfolio.models import Account
from portfolio.selectors import watchlist_limits
from portfolio.services import ResetLimited, account_reset, watchlist_add_stock, watchlist_create
from tests.fake_portone import complete, ensure_catalogue, pay_at_portone, prepare, running_fake_portone
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


def buy(client, fake, product="premium_monthly"):
    order = prepare(client, product)
    pay_at_portone(fake, order)
    response = complete(client, order["payment_id"])
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_the_catalogue_is_seeded_with_monthly_and_yearly_premium():
    ensure_catalogue()
    catalogue = {p.code: (p.price, p.currency, p.period_days, p.is_active) for p in Product.objects.all()}
    assert catalogue == {
        "premium_monthly": (9900, "KRW", 30, True),
        "premium_yearly": (99000, "KRW", 365, True),
    }


def test_a_renewal_extends_from_the_current_end(auth_client, user, portone):
    with time_machine.travel(START, tick=False):
        buy(auth_client, portone)
    first_end = Subscription.objects.get(user=user).current_period_end
    assert first_end == START + timedelta(days=30)

    with time_machine.travel(START + timedelta(days=10), tick=False):
        data = buy(auth_client, portone, "premium_yearly")

    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_start == START
    assert subscription.current_period_end == first_end + timedelta(days=365)
    assert subscription.product.code == "premium_yearly"
    assert data["subscription"]["current_period_end"].startswith("2027-12-02")


def test_premium_ends_by_itself_when_the_period_is_over(auth_client, user, portone):
    with time_machine.travel(START, tick=False):
        buy(auth_client, portone)

    with time_machine.travel(START + timedelta(days=30) - timedelta(seconds=1), tick=False):
        assert user_is_premium(user=user)
        assert auth_client.get("/api/v1/auth/me").json()["is_premium"] is True
    with time_machine.travel(START + timedelta(days=30, seconds=1), tick=False):
        assert not user_is_premium(user=user)
        me = auth_client.get("/api/v1/auth/me").json()
        assert (me["is_premium"], me["premium_until"]) == (False, None)
        assert auth_client.get("/api/v1/payments/subscription").json()["data"]["is_premium"] is False
        assert watchlist_limits(user=user) == FREE_WATCHLIST_LIMITS
    assert Subscription.objects.get(user=user).status == SubscriptionStatus.ACTIVE  # no job needed to expire it


def test_buying_after_expiry_starts_a_new_period_from_now(auth_client, user, portone):
    with time_machine.travel(START, tick=False):
        buy(auth_client, portone)
    later = START + timedelta(days=45)
    with time_machine.travel(later, tick=False):
        buy(auth_client, portone)
        status = premium_status(user=user)
    subscription = Subscription.objects.get(user=user)
    assert subscription.current_period_start == later
    assert status.premium_until == later + timedelta(days=30)


def test_premium_raises_the_watchlist_caps_in_the_service(auth_client, user, portone):
    assert watchlist_limits(user=user) == FREE_WATCHLIST_LIMITS == (10, 50)
    for n in range(10):
        watchlist_create(user=user, name=f"free {n}")
    with pytest.raises(LimitReached):
        watchlist_create(user=user, name="one too many")

    buy(auth_client, portone)

    assert watchlist_limits(user=user) == PREMIUM_WATCHLIST_LIMITS == (50, 200)
    for n in range(10, 50):
        watchlist_create(user=user, name=f"premium {n}")
    with pytest.raises(LimitReached):
        watchlist_create(user=user, name="fifty-one")


def test_premium_lists_hold_200_stocks(auth_client, user, portone):
    Stock.objects.bulk_create(
        Stock(code=f"A{900000 + n:06d}", name=f"종목{n}", name_en=f"Corp {n}", market="KOSPI") for n in range(201)
    )
    stocks = list(Stock.objects.order_by("code"))
    watchlist = watchlist_create(user=user, name="big")
    for stock in stocks[:50]:
        watchlist_add_stock(user=user, watchlist_id=watchlist.pk, stock=stock)
    with pytest.raises(LimitReached):
        watchlist_add_stock(user=user, watchlist_id=watchlist.pk, stock=stocks[50])

    buy(auth_client, portone)

    for stock in stocks[50:200]:
        watchlist_add_stock(user=user, watchlist_id=watchlist.pk, stock=stock)
    with pytest.raises(LimitReached):
        watchlist_add_stock(user=user, watchlist_id=watchlist.pk, stock=stocks[200])


def test_a_free_user_resets_once_per_30_days(auth_client, user):
    with time_machine.travel(START, tick=False):
        assert auth_client.post("/api/v1/portfolio/reset").status_code == 201
    with time_machine.travel(START + timedelta(days=29, hours=23), tick=False):
        response = auth_client.post("/api/v1/portfolio/reset")
        error = assert_error(response, 429, "reset_limited")
        assert error["details"]["next_reset_at"].startswith("2026-12-02T01:00")
        assert error["details"]["retry_after_seconds"] == 3600 + 1
        assert response["Retry-After"] == "3601"
        assert "2026-12-02 10:00" in error["message"]  # shown in Seoul time
        assert Account.objects.filter(user=user).count() == 2  # nothing was closed or opened
    with time_machine.travel(START + timedelta(days=30, seconds=1), tick=False):
        assert auth_client.post("/api/v1/portfolio/reset").status_code == 201
    assert Account.objects.filter(user=user).count() == 3


def test_the_reset_limit_applies_to_the_service_and_the_page(client, user):
    account_reset(user=user)
    with pytest.raises(ResetLimited):
        account_reset(user=user)
    client.force_login(user)
    response = client.post("/portfolio/reset/", {"confirm": "RESET"}, follow=True)
    assert "30일에 한 번" in response.content.decode()  # Korean by default
    english = client.post("/portfolio/reset/", {"confirm": "RESET"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "once every 30 days" in english.content.decode()
    assert Account.objects.filter(user=user).count() == 2


def test_premium_resets_are_unlimited(auth_client, user, portone):
    buy(auth_client, portone)
    for _ in range(3):
        assert auth_client.post("/api/v1/portfolio/reset").status_code == 201
    assert Account.objects.filter(user=user, is_open=None).count() == 3


def test_after_premium_ends_the_free_reset_limit_is_back(auth_client, user, portone):
    with time_machine.travel(START, tick=False):
        buy(auth_client, portone)
        assert auth_client.post("/api/v1/portfolio/reset").status_code == 201
        assert auth_client.post("/api/v1/portfolio/reset").status_code == 201
    with time_machine.travel(START + timedelta(days=31), tick=False):
        # the last reset was 31 days ago: one is allowed, then the limit applies again
        assert auth_client.post("/api/v1/portfolio/reset").status_code == 201
        assert_error(auth_client.post("/api/v1/portfolio/reset"), 429, "reset_limited")
