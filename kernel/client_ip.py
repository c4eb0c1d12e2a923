"""Whose address a request comes from, behind NUM_PROXIES trusted reverse proxies (docs/deploy.md)."""

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind N proxies the address the outermost one saw: X-Forwarded-For read from the
    right, as DRF's throttles read it, so a client cannot choose its own address by sending the header."""
    num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if num_proxies and addresses:
        return addresses[-min(num_proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR", "")
