from django.utils.functional import SimpleLazyObject


def account_stream(request):
    """The open account and the last event the page is rendered from, for account-events.js:
    events committed between this render and the socket's hello are then replayed, not lost.
    Lazy: only pages that show it (base.html) read the account row."""

    def read():
        from portfolio.models import Account  # the context processor loads before apps are ready

        if not request.user.is_authenticated:
            return None
        return Account.objects.filter(user=request.user, is_open=True).only("pk", "last_event_seq").first()

    return {"stream_account": SimpleLazyObject(read)}


def market_status(request):
    """Where the prices come from and whether the market is open, for every page (docs/architecture.md §7: honesty of
    the source). `prices_simulated` pages say 모의 시세, never "live"; `market_session` is the KRX session
    (pre-open, open, closed, with the next open) when MARKET_HOURS_ENFORCED, else the round-the-clock
    simulated market. Lazy: computed only by pages that show it."""
    from django.conf import settings
    from django.utils import timezone

    from stocking.market_session import market_session_at

    return {
        "prices_source": settings.MARKETDATA_SOURCE,
        "prices_simulated": settings.MARKETDATA_SOURCE == "simulator",
        "price_stale_seconds": settings.PRICE_STALE_SECONDS,
        "market_session": SimpleLazyObject(lambda: market_session_at(timezone.now())),
    }
