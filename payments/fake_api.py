"""The built-in fake PortOne of test mode (settings.PORTONE_TEST_MODE: DEBUG and no PortOne keys, `make demo`).

It answers the two PortOne V2 calls we make, in PortOne's JSON shapes, from our own records: a READY
payment of ours is reported PAID for exactly its amount, so a demo user can become premium offline.
`payments.portone` plugs `handle` in as the SDK's HTTP transport (httpx.MockTransport): the SDK's real
request and deserialization code runs, but nothing listens on a port and nothing leaves the process.
It is never reachable from outside, and production settings refuse test mode.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import httpx
from django.utils import timezone

from payments.models import Payment, PaymentStatus

_PAYMENT_PATH = re.compile(r"/payments/(?P<payment_id>[^/]+)(?P<cancel>/cancel)?$")


def handle(request: httpx.Request) -> httpx.Response:
    from payments.portone import TEST_MODE_API_SECRET

    if request.headers.get("authorization") != f"PortOne {TEST_MODE_API_SECRET}":
        return _error(401, "UNAUTHORIZED", "Invalid API secret.")
    match = _PAYMENT_PATH.search(request.url.path)
    if match is None:
        return _error(
            404, "NOT_FOUND", "The fake PortOne knows only GET /payments/{id} and POST /payments/{id}/cancel."
        )
    payment = Payment.objects.filter(payment_id=unquote(match["payment_id"])).first()
    if payment is None:
        return _error(404, "PAYMENT_NOT_FOUND", "Payment not found.")
    if match["cancel"] and request.method == "POST":
        return _cancel(payment, json.loads(request.content or b"{}"))
    if not match["cancel"] and request.method == "GET":
        return httpx.Response(200, json=payment_json(payment))
    return _error(405, "INVALID_REQUEST", "Method not allowed.")


def _error(status: int, error_type: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"type": error_type, "message": message})


def _now() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


def payment_json(payment: Payment) -> dict:
    """PortOne's shape for our payment: FAILED and CANCELLED stay so, everything else has been paid."""
    from payments.portone import config

    now = _now()
    body = {
        "id": payment.payment_id,
        "transactionId": f"test-tx-{payment.payment_id}",
        "merchantId": "merchant-test-mode",
        "storeId": config().store_id,
        "channel": {"type": "TEST", "pgProvider": "TOSSPAYMENTS", "pgMerchantId": "test-mode"},
        "version": "V2",
        "requestedAt": payment.created_at.isoformat(),
        "updatedAt": now,
        "statusChangedAt": now,
        "orderName": payment.order_name,
        "amount": {
            "total": int(payment.amount),
            "taxFree": 0,
            "discount": 0,
            "paid": int(payment.amount),
            "cancelled": 0,
            "cancelledTaxFree": 0,
        },
        "currency": payment.currency,
        "customer": {"id": str(payment.user_id)},
        "origin": {"platformType": "PC", "ipAddress": "127.0.0.1"},
        "disputes": [],
    }
    if payment.status == PaymentStatus.FAILED:
        return {**body, "status": "FAILED", "failedAt": now, "failure": {"reason": payment.failure_reason or "failed"}}
    if payment.status == PaymentStatus.CANCELLED:
        cancellation = _cancellation(payment, "cancelled in test mode")
        body["amount"]["cancelled"] = int(payment.amount)
        return {**body, "status": "CANCELLED", "paidAt": now, "cancelledAt": now, "cancellations": [cancellation]}
    return {**body, "status": "PAID", "paidAt": now}


def _cancellation(payment: Payment, reason: str) -> dict:
    return {
        "status": "SUCCEEDED",
        "id": f"test-cancel-{payment.payment_id}",
        "totalAmount": int(payment.amount),
        "taxFreeAmount": 0,
        "vatAmount": 0,
        "reason": reason,
        "requestedAt": _now(),
        "cancelledAt": _now(),
    }


def _cancel(payment: Payment, body: dict) -> httpx.Response:
    if payment.status == PaymentStatus.CANCELLED:
        return _error(409, "PAYMENT_ALREADY_CANCELLED", "Payment already cancelled.")
    if payment.status not in (PaymentStatus.PAID, PaymentStatus.PARTIAL_CANCELLED):
        return _error(409, "PAYMENT_NOT_PAID", "Payment not paid.")
    return httpx.Response(200, json={"cancellation": _cancellation(payment, str(body.get("reason", "")))})
