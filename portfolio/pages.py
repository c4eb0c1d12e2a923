"""Pages of a user who has no open paper account (one made with createsuperuser, or in the admin): they say so and
offer to open one (portfolio.services.account_open), instead of failing with a 500."""

from functools import wraps

from django.conf import settings
from django.shortcuts import render

from kernel.htmx import wants_fragment
from portfolio.errors import AccountNotFound


def open_account_required(view):
    """Run the page; if it finds no open account, answer with the no-account page (or its fragment for htmx)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except AccountNotFound:
            template = "portfolio/_no_account.html" if wants_fragment(request) else "portfolio/no_account.html"
            return render(request, template, {"next": request.get_full_path(), "starting_cash": settings.STARTING_CASH})

    return wrapper
