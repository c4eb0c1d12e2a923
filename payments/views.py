"""The premium page: plans, the PortOne payment window (static/js/premium.js), subscription and history."""

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from payments import selectors
from payments.portone import config
from payments.selectors import FREE_WATCHLIST_LIMITS, PREMIUM_WATCHLIST_LIMITS

HISTORY_PAGE_SIZE = 20


def _account_context(request) -> dict:
    payments = Paginator(selectors.payments_for(user=request.user), HISTORY_PAGE_SIZE)
    subscription = selectors.subscription_get(user=request.user)
    return {
        "subscription": subscription,
        "premium": selectors.premium_status_of(subscription),
        "payments_page": payments.get_page(request.GET.get("page")),
    }


@login_required
@csp_update(settings.CSP_PREMIUM_PAGE_UPDATE)  # PortOne's SDK, frames and API, on this page only
def premium_page(request):
    context = {
        "products": selectors.products_for_sale(),
        "test_mode": config().test_mode,
        "payments_enabled": settings.PAYMENTS_ENABLED,
        "free_limits": FREE_WATCHLIST_LIMITS,
        "premium_limits": PREMIUM_WATCHLIST_LIMITS,
        **_account_context(request),
    }
    return render(request, "payments/premium.html", context)


@login_required
def premium_account(request):
    """The subscription and history panel alone, for the page to refresh after a payment."""
    return render(request, "payments/_account.html", _account_context(request))
