"""Performance pages (issue 16): the dashboard as the user's home, the analytics page and past accounts render in
Korean with the analytics selector's numbers; a null metric reads "—"; another user's closed account is 404; a
reset moves the old curve to the past-accounts page."""

import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from marketdata.calendar import seoul_today
from marketdata.models import MarketIndex, MarketIndexDay
from portfolio import analytics
from portfolio.analytics import snapshots_seed_demo
from portfolio.models import Account
from portfolio.selectors import account_get_open
from portfolio.services import account_reset
from stocking.templatetags.money import signed_pct
from tests.factories import UserFactory, open_account_for
from tests.korean_catalog import korean_catalog_with

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _korean(settings, tmp_path):
    korean_catalog_with(settings, tmp_path, "h17")
    with translation.override("ko"):
        yield


@pytest.fixture
def seeded(user):
    """20 days of demo history beside KOSPI, whose close today is 2,600."""
    kospi, _ = MarketIndex.objects.get_or_create(code="KOSPI", defaults={"name": "코스피"})
    close = Decimal(2600)
    MarketIndexDay.objects.create(
        index=kospi, date=seoul_today(timezone.now()), open=close, high=close, low=close, close=close
    )
    account = account_get_open(user=user)
    assert snapshots_seed_demo(account=account, days=20) == 20
    return account


def _metric(html: str, name: str) -> str:
    match = re.search(rf'data-metric="{name}"[^>]*>(.*?)</dd>', html, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _chart(html: str) -> dict:
    match = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_the_dashboard_shows_the_curve_and_key_metrics_in_korean(client, user, seeded):
    client.force_login(user)
    html = client.get("/dashboard/").content.decode()
    expected = analytics.analytics_data(analytics.equity_series(account=seeded, period="ALL"))
    assert expected["time_weighted_return_pct"] is not None
    assert _metric(html, "twr") == signed_pct(expected["time_weighted_return_pct"])
    assert _metric(html, "mdd") == signed_pct(expected["max_drawdown_pct"])
    assert _metric(html, "volatility") == f"{expected['volatility_pct']:.2f}%"
    assert _metric(html, "sharpe") == f"{expected['sharpe_ratio']:.2f}"
    assert _metric(html, "win-rate") == "—"  # no sells: null, never 0
    for label in ("변동성 (연환산)", "승률", "평가손익", "종목별 비중", "업종별 비중", "미체결", "최근 체결",
                  "KOSPI 대비 수익률"):  # fmt: skip
        assert label in html, label
    for english in ("Time-weighted return", "Max drawdown", "Sharpe ratio", "Today's P&amp;L", "Recent fills"):
        assert english not in html, english
    assert 'id="equity-chart"' in html
    assert 'data-history-url="/api/v1/portfolio/history"' in html
    assert 'data-testid="movers"' in html  # the market parts stay


def test_the_dashboard_shows_allocation_by_stock_and_by_sector(client, user, samsung, store_price):
    from portfolio.services import holding_apply_buy
    from portfolio.unit_of_work import AccountUnitOfWork

    samsung.sector = "전기·전자"
    samsung.save(update_fields=["sector"])
    account = account_get_open(user=user)
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        holding_apply_buy(work, stock=samsung, quantity=10, price=Decimal(70000), commission=Decimal(0))
    store_price(samsung.code, 71000)
    client.force_login(user)
    html = client.get("/dashboard/").content.decode()
    stock_part = html.split('data-testid="allocation-stock"')[1].split("</section>")[0]
    sector_part = html.split('data-testid="allocation-sector"')[1].split("</section>")[0]
    assert "삼성전자" in stock_part
    assert "100.00%" in stock_part
    assert 'data-live-row="A005930"' in stock_part
    assert "전기·전자" in sector_part
    assert "100.00%" in sector_part
    assert 'data-held-codes="A005930"' in html


def test_the_analytics_page_shows_every_metric_the_charts_data_and_csv_links(client, user, seeded):
    client.force_login(user)
    response = client.get("/analytics/?period=ALL")
    assert response.status_code == 200
    html = response.content.decode()
    series = analytics.equity_series(account=seeded, period="ALL")
    expected = analytics.analytics_data(series)
    assert _metric(html, "twr") == signed_pct(expected["time_weighted_return_pct"])
    assert _metric(html, "annualized") == signed_pct(expected["annualized_return_pct"])
    assert expected["benchmark"]["return_pct"] is not None
    assert _metric(html, "benchmark") == signed_pct(expected["benchmark"]["return_pct"])
    assert _metric(html, "excess") == signed_pct(expected["excess_return_pct"])
    for name in ("win-rate", "profit-factor", "average-win", "average-loss", "best", "worst"):
        assert _metric(html, name) == "—", f"{name}: {_metric(html, name)}"  # no sells yet: undefined, never 0
    chart = _chart(html)
    assert len(chart["points"]) == len(series.points) == 21  # 20 seeded days and today
    assert min(p["drawdown_pct"] for p in chart["points"]) == pytest.approx(expected["max_drawdown_pct"], abs=1e-3)
    assert "월별 수익률" in html
    assert "종목별" in html
    assert "KOSPI 대비" in html
    assert "Monthly returns" not in html
    assert "/api/v1/portfolio/history?period=ALL&amp;format=csv" in html
    assert "/api/v1/portfolio/analytics?period=ALL&amp;format=csv" in html
    months = re.findall(r'<td class="mono">(\d{4}-\d{2})</td>', html.split('data-testid="monthly-returns"')[1])
    assert months
    assert months == sorted(months, reverse=True)


def test_an_account_without_history_shows_dashes_not_zeros(client, user):
    client.force_login(user)
    html = client.get("/analytics/?period=1M").content.decode()
    assert _metric(html, "twr") == "0.00%"  # one day (today) that earned nothing: defined, and zero
    for name in ("volatility", "sharpe", "win-rate", "profit-factor", "average-win", "best"):
        assert _metric(html, name) == "—", name  # undefined on one day and no sells
    assert client.get("/analytics/?period=bogus").status_code == 200  # an unknown period shows the default


def test_a_reset_moves_the_old_curve_to_past_accounts(client, user, seeded):
    client.force_login(user)
    assert "계좌가 없습니다" in client.get("/accounts/history/").content.decode()
    account_reset(user=user)
    html = client.get("/accounts/history/").content.decode()
    assert f'data-account-id="{seeded.pk}"' in html
    detail = client.get(f"/accounts/history/{seeded.pk}/")
    assert detail.status_code == 200
    assert len(_chart(detail.content.decode())["points"]) == 20  # the old chain, without a live point
    assert 'data-testid="past-ledger"' in detail.content.decode()
    assert "입금" in detail.content.decode()
    new = client.get("/analytics/?period=ALL").content.decode()
    assert len(_chart(new)["points"]) == 1  # the new account starts its own curve: today only


def test_another_users_closed_account_and_the_open_one_are_404(client, user, seeded):
    other = UserFactory()
    open_account_for(other)
    account_reset(user=other)
    closed = Account.objects.get(user=other, closed_at__isnull=False)
    client.force_login(user)
    assert client.get(f"/accounts/history/{closed.pk}/").status_code == 404
    assert client.get(f"/accounts/history/{seeded.pk}/").status_code == 404  # still open: not a past account
    assert client.get("/accounts/history/999999/").status_code == 404
