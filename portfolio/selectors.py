"""Reads of accounts, holdings, the ledger and watchlists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from marketdata.calendar import SEOUL, seoul_today
from marketdata.prices import Quote, latest_prices
from payments.selectors import FREE_WATCHLIST_LIMITS, PREMIUM_WATCHLIST_LIMITS, user_is_premium
from portfolio.errors import AccountNotFound, WatchlistNotFound
from portfolio.models import Account, AccountEvent, Holding, Transaction, TransactionType, Watchlist, WatchlistItem

ZERO = Decimal(0)


def account_get_open(*, user) -> Account:
    account = Account.objects.filter(user=user, is_open=True).first()
    if account is None:
        raise AccountNotFound()
    return account


def account_unsettled_proceeds(*, account: Account, today: date | None = None) -> Decimal:
    """Sale proceeds that settle after today (T+2): they can buy at once but not be withdrawn."""
    today = today or seoul_today(timezone.now())
    total = account.transactions.filter(transaction_type=TransactionType.SELL, settlement_date__gt=today).aggregate(
        total=Sum("amount")
    )["total"]
    return total or ZERO


def account_withdrawable_cash(*, account: Account) -> Decimal:
    return max(ZERO, account.available_cash - account_unsettled_proceeds(account=account))


@dataclass
class HoldingView:
    holding: Holding
    price: Decimal | None
    price_is_stale: bool  # no fresh quote: valued at the last fill price
    change_pct: Decimal | None
    quote: Quote | None = None  # the latest stored price, fresh or not: the page says 지연 with its age

    @property
    def stock(self):
        return self.holding.stock

    @property
    def quantity(self) -> int:
        return self.holding.quantity

    @property
    def cost_basis(self) -> Decimal:
        return (self.holding.average_cost * self.holding.quantity).quantize(Decimal(1))

    @property
    def market_value(self) -> Decimal:
        return (self.price or ZERO) * self.holding.quantity

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.market_value - self.cost_basis

    @property
    def unrealized_pnl_pct(self) -> Decimal | None:
        if not self.cost_basis:
            return None
        return (self.unrealized_pnl / self.cost_basis * 100).quantize(Decimal("0.01"))


@dataclass
class PortfolioSummary:
    account: Account
    holdings: list[HoldingView]
    withdrawable_cash: Decimal
    realized_pnl: Decimal
    net_deposits: Decimal
    as_of: datetime = field(default_factory=timezone.now)

    @property
    def market_value(self) -> Decimal:
        return sum((h.market_value for h in self.holdings), ZERO)

    @property
    def equity(self) -> Decimal:
        return self.account.cash + self.market_value

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((h.unrealized_pnl for h in self.holdings), ZERO)

    @property
    def total_return(self) -> Decimal:
        """Equity gained beyond what was paid in (opening deposit, deposits, withdrawals, corrections)."""
        return self.equity - self.net_deposits

    @property
    def total_return_pct(self) -> Decimal | None:
        if self.net_deposits <= 0:
            return None
        return (self.total_return / self.net_deposits * 100).quantize(Decimal("0.01"))


def portfolio_summary(*, account: Account) -> PortfolioSummary:
    """Account totals and every holding valued at the latest price.

    Constant cost whatever the number of holdings: one query for holdings, one
    aggregate over the ledger, one Redis round trip for prices.
    """
    holdings = list(account.holdings.filter(quantity__gt=0).select_related("stock").order_by("stock__code"))
    quotes = latest_prices(h.stock.code for h in holdings)
    views = []
    for holding in holdings:
        quote = quotes.get(holding.stock.code)
        if quote is not None and quote.is_fresh():
            views.append(HoldingView(holding, quote.price, False, quote.change_pct, quote))
        else:
            views.append(HoldingView(holding, holding.last_fill_price, True, None, quote))
    today = seoul_today(timezone.now())
    totals = account.transactions.aggregate(
        realized=Coalesce(Sum("realized_pnl", filter=Q(transaction_type=TransactionType.SELL)), ZERO),
        net_deposits=Coalesce(
            Sum(
                "amount",
                filter=Q(
                    transaction_type__in=[
                        TransactionType.DEPOSIT,
                        TransactionType.WITHDRAW,
                        TransactionType.ADJUSTMENT,
                    ]
                ),
            ),
            ZERO,
        ),
        unsettled=Coalesce(
            Sum("amount", filter=Q(transaction_type=TransactionType.SELL, settlement_date__gt=today)), ZERO
        ),
    )
    return PortfolioSummary(
        account=account,
        holdings=views,
        withdrawable_cash=max(ZERO, account.available_cash - totals["unsettled"]),
        realized_pnl=totals["realized"],
        net_deposits=totals["net_deposits"],
    )


def transactions_list(
    *,
    account: Account,
    transaction_type: str | None = None,
    stock_code: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Transaction]:
    """The account's ledger, newest first; dates are Seoul calendar days, both ends inclusive."""
    rows = account.transactions.select_related("stock")
    if transaction_type:
        rows = rows.filter(transaction_type=transaction_type)
    if stock_code:
        rows = rows.filter(stock__code=stock_code.upper())
    if date_from:
        rows = rows.filter(created_at__gte=datetime.combine(date_from, datetime.min.time(), tzinfo=SEOUL))
    if date_to:
        next_day = date_to + timedelta(days=1)
        rows = rows.filter(created_at__lt=datetime.combine(next_day, datetime.min.time(), tzinfo=SEOUL))
    return rows.order_by("-created_at", "-id")


def ledger_stock_code_for(*, account: Account, text: str) -> str | None:
    """The code of the one stock in the account's ledger named `text` (Korean or English name; an exact name first,
    then a part of one), or None when no stock or several match."""
    stocks = Transaction.objects.filter(account=account, stock__isnull=False).values_list("stock__code", flat=True)
    for match in (
        Q(stock__name__iexact=text) | Q(stock__name_en__iexact=text),
        Q(stock__name__icontains=text) | Q(stock__name_en__icontains=text),
    ):
        codes = set(stocks.filter(match).order_by().distinct())
        if codes:
            return codes.pop() if len(codes) == 1 else None
    return None


def watchlist_limits(*, user) -> tuple[int, int]:
    """(lists per user, stocks per list); premium raises them (payments app)."""
    return PREMIUM_WATCHLIST_LIMITS if user_is_premium(user=user) else FREE_WATCHLIST_LIMITS


def watchlists_for(*, user) -> QuerySet[Watchlist]:
    items = WatchlistItem.objects.select_related("stock").order_by("position", "id")
    return Watchlist.objects.filter(user=user).prefetch_related(Prefetch("items", queryset=items))


def watchlist_get(*, user, watchlist_id: int) -> Watchlist:
    """Another user's id answers 404, exactly like a missing one."""
    watchlist = watchlists_for(user=user).filter(pk=watchlist_id).first()
    if watchlist is None:
        raise WatchlistNotFound()
    return watchlist


def account_events_after(*, account_id: int, after_seq: int, limit: int = 500) -> list[AccountEvent]:
    return list(AccountEvent.objects.filter(account_id=account_id, seq__gt=after_seq).order_by("seq")[:limit])


def account_get_for(*, user, account_id: int | None = None) -> Account:
    """The user's open account, or with `account_id` one of the user's accounts, open or closed.
    Another user's id answers 404 (AccountNotFound), exactly like a missing one."""
    if account_id is None:
        return account_get_open(user=user)
    account = Account.objects.filter(user=user, pk=account_id).first()
    if account is None:
        raise AccountNotFound(gettext_lazy("You have no such account."), details={"account_id": account_id})
    return account


@dataclass
class AccountRecord:
    account: Account
    final_equity: Decimal | None  # closed accounts: cash plus holdings at their last fill price


def accounts_list(*, user) -> list[AccountRecord]:
    """The user's accounts, newest first, closed ones with their final equity (two queries)."""
    accounts = list(Account.objects.filter(user=user).order_by("-opened_at", "-id"))
    closed = [a.pk for a in accounts if not a.is_open]
    held: dict[int, Decimal] = {}
    for account_id, quantity, price in Holding.objects.filter(account_id__in=closed, quantity__gt=0).values_list(
        "account_id", "quantity", "last_fill_price"
    ):
        held[account_id] = held.get(account_id, ZERO) + quantity * (price or ZERO)
    return [AccountRecord(a, None if a.is_open else a.cash + held.get(a.pk, ZERO)) for a in accounts]
