"""htmx requests: which ones want a fragment, and what responses must tell caches and htmx."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme


def wants_fragment(request) -> bool:
    """An htmx swap asks for a fragment; restoring history (Back to a pushed URL) asks for the page."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


class HtmxMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # One URL answers with a page or its fragment: a cache (and so Back) must not mix them up.
        patch_vary_headers(response, ["HX-Request"])
        if request.headers.get("HX-Request") == "true" and _redirects_to_login(response):
            return _login_as_a_page(request)
        return response


def _redirects_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


def _login_as_a_page(request) -> HttpResponse:
    """A session that ended under an open page: htmx would swap the login page into a fragment.
    Send the whole window to log in instead, and back to the page (not the fragment's URL) after."""
    current = request.headers.get("HX-Current-URL", "")
    if not url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        current = "/"
    parts = urlsplit(current)
    login = redirect_to_login(parts.path + (f"?{parts.query}" if parts.query else ""))
    response = HttpResponse(status=204)
    response["HX-Redirect"] = login["Location"]
    return response
