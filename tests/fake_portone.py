"""A fake PortOne V2 REST API for the tests: real HTTP on 127.0.0.1 (an ephemeral port), PortOne's JSON.

- `GET /payments/{id}`: the payment in the full shape portone-server-sdk deserializes, for each status
  (PAID, FAILED, READY, PAY_PENDING, VIRTUAL_ACCOUNT_ISSUED, CANCELLED, PARTIAL_CANCELLED);
  404 `PAYMENT_NOT_FOUND` for ids it was never told about.
- `POST /payments/{id}/cancel`: cancels a PAID payment (409 `PAYMENT_ALREADY_CANCELLED`, `PAYMENT_NOT_PAID`).
- Every request must carry `Authorization: PortOne <secret>`, else 401 `UNAUTHORIZED`.

Tests play the payment window: `fake.set_payment(id, amount=…)` makes PortOne know a payment, with
per-payment overrides of amount, currency, storeId and status. `fake.requests` records what was asked.
`running_fake_portone(settings)` starts one and points the app's PORTONE_* settings at it.
Webhooks are signed here with the `standardwebhooks` package, as PortOne signs them.
"""

from __future__ import annotations

import atexit
import json
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from urllib.parse import unquote, urlsplit

from standardwebhooks import Webhook

API_SECRET = "fake-portone-api-secret"
STORE_ID = "store-4f2a9c1e-fake-portone"
CHANNEL_KEY = "channel-key-fake-portone"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 random bytes, Standard Webhooks style


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakePayment:
    payment_id: str
    status: str = "PAID"
    amount: int = 9900
    currency: str = "KRW"
    store_id: str = STORE_ID
    order_name: str = "StocKing Premium"
    failure_reason: str = "카드 한도 초과"
    cancelled: int = 0
    transaction_id: str = field(default_factory=lambda: f"tx-{uuid.uuid4().hex[:16]}")


class FakePortOne:
    def __init__(self, *, secret: str = API_SECRET, store_id: str = STORE_ID):
        self.secret = secret
        self.store_id = store_id
        self.payments: dict[str, FakePayment] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what the tests set -------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.payments.clear()
            self.requests.clear()

    def set_payment(self, payment_id: str, **overrides) -> FakePayment:
        """PortOne now knows this payment (PAID, 9,900 KRW, our store unless overridden)."""
        with self.lock:
            payment = self.payments[payment_id] = FakePayment(payment_id, **{"store_id": self.store_id, **overrides})
            return payment

    def requests_for(self, method: str, path_suffix: str) -> list[str]:
        with self.lock:
            return [path for m, path in self.requests if m == method and path.endswith(path_suffix)]

    # --- PortOne's shapes ----------------------------------------------------------

    def payment_json(self, payment: FakePayment) -> dict:
        now = datetime.now(UTC)
        paid = payment.amount - payment.cancelled
        body = {
            "status": payment.status,
            "id": payment.payment_id,
            "transactionId": payment.transaction_id,
            "merchantId": "merchant-fake-portone",
            "storeId": payment.store_id,
            "channel": {
                "type": "TEST",
                "id": "channel-id-fake",
                "key": CHANNEL_KEY,
                "name": "Fake card channel",
                "pgProvider": "TOSSPAYMENTS",
                "pgMerchantId": "tosspayments-fake",
            },
            "version": "V2",
            "requestedAt": _iso(now - timedelta(minutes=1)),
            "updatedAt": _iso(now),
            "statusChangedAt": _iso(now),
            "orderName": payment.order_name,
            "amount": {
                "total": payment.amount,
                "taxFree": 0,
                "vat": payment.amount // 11,
                "supply": payment.amount - payment.amount // 11,
                "discount": 0,
                "paid": paid if payment.status in ("PAID", "CANCELLED", "PARTIAL_CANCELLED") else 0,
                "cancelled": payment.cancelled,
                "cancelledTaxFree": 0,
            },
            "currency": payment.currency,
            "customer": {"id": "customer-1", "email": "trader@example.com"},
            "origin": {"platformType": "PC", "ipAddress": "203.0.113.7", "userAgent": "Mozilla/5.0"},
        }
        if payment.status in ("PAID", "CANCELLED", "PARTIAL_CANCELLED"):
            body.update(paidAt=_iso(now), disputes=[], receiptUrl="https://example.invalid/receipt")
        if payment.status == "FAILED":
            body.update(
                failedAt=_iso(now),
                failure={"reason": payment.failure_reason, "pgCode": "F001", "pgMessage": payment.failure_reason},
            )
        if payment.status in ("CANCELLED", "PARTIAL_CANCELLED"):
            body.update(cancelledAt=_iso(now), cancellations=[self._cancellation_json(payment, "refund")])
        return body

    def _cancellation_json(self, payment: FakePayment, reason: str) -> dict:
        now = _iso(datetime.now(UTC))
        return {
            "status": "SUCCEEDED",
            "id": f"cancel-{payment.payment_id}",
            "pgCancellationId": "pg-cancel-1",
            "totalAmount": payment.cancelled or payment.amount,
            "taxFreeAmount": 0,
            "vatAmount": (payment.cancelled or payment.amount) // 11,
            "reason": reason,
            "requestedAt": now,
            "cancelledAt": now,
        }

    # --- HTTP -----------------------------------------------------------------------

    def handle(self, method: str, path: str, authorization: str | None, body: bytes) -> tuple[int, dict]:
        with self.lock:
            self.requests.append((method, path))
            if authorization != f"PortOne {self.secret}":
                return 401, {"type": "UNAUTHORIZED", "message": "Invalid API secret"}
            parts = [unquote(part) for part in urlsplit(path).path.strip("/").split("/")]
            if len(parts) not in (2, 3) or parts[0] != "payments" or (len(parts) == 3 and parts[2] != "cancel"):
                return 404, {"type": "NOT_FOUND", "message": f"No route {method} {path}"}
            payment = self.payments.get(parts[1])
            if payment is None:
                return 404, {"type": "PAYMENT_NOT_FOUND", "message": "결제 건이 존재하지 않습니다."}
            if len(parts) == 2 and method == "GET":
                return 200, self.payment_json(payment)
            if len(parts) == 3 and method == "POST":
                return self._cancel(payment, json.loads(body or b"{}"))
            return 405, {"type": "INVALID_REQUEST", "message": "Method not allowed"}

    def _cancel(self, payment: FakePayment, request: dict) -> tuple[int, dict]:
        if not request.get("reason"):
            return 400, {"type": "INVALID_REQUEST", "message": "reason is required"}
        if payment.status == "CANCELLED":
            return 409, {"type": "PAYMENT_ALREADY_CANCELLED", "message": "이미 취소된 결제입니다."}
        if payment.status not in ("PAID", "PARTIAL_CANCELLED"):
            return 409, {"type": "PAYMENT_NOT_PAID", "message": "결제가 완료되지 않았습니다."}
        payment.status = "CANCELLED"
        payment.cancelled = payment.amount
        return 200, {"cancellation": self._cancellation_json(payment, request["reason"])}

    def start(self) -> FakePortOne:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = fake.handle(self.command, self.path, self.headers.get("Authorization"), body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, format, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-portone", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


def ensure_catalogue() -> None:
    """The catalogue the data migration seeds; transactional tests flush the database, so seed it again."""
    from django.apps import apps

    import_module("payments.migrations.0002_seed_products").seed(apps, None)


_shared: FakePortOne | None = None
_shared_lock = threading.Lock()


def _shared_fake() -> FakePortOne:
    # One server per test run: the app then keeps one SDK client for it (building one costs ~0.5 s).
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FakePortOne().start()
            atexit.register(_shared.stop)
        return _shared


@contextmanager
def running_fake_portone(settings):
    """The fake PortOne, emptied, with the app's PORTONE_* settings pointing at it (test mode off)."""
    ensure_catalogue()
    fake = _shared_fake()
    fake.reset()
    settings.PORTONE_TEST_MODE = False
    settings.PORTONE_API_BASE = fake.base_url
    settings.PORTONE_STORE_ID = fake.store_id
    settings.PORTONE_CHANNEL_KEY = CHANNEL_KEY
    settings.PORTONE_V2_API_SECRET = fake.secret
    settings.PORTONE_WEBHOOK_SECRET = WEBHOOK_SECRET
    try:
        yield fake
    finally:
        fake.reset()


# --- webhooks, signed as PortOne signs them (Standard Webhooks) ---------------------


def webhook_body(event_type: str, payment_id: str, *, store_id: str = STORE_ID) -> str:
    data = {"paymentId": payment_id, "storeId": store_id, "transactionId": f"tx-{payment_id}"}
    if event_type == "Transaction.Cancelled":
        data["cancellationId"] = f"cancel-{payment_id}"
    return json.dumps({"type": event_type, "timestamp": _iso(datetime.now(UTC)), "data": data})


def signed_headers(
    body: str, *, webhook_id: str | None = None, sent_at: datetime | None = None, secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    sent_at = sent_at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id=webhook_id, timestamp=sent_at, data=body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


# --- the payment flow through our API ------------------------------------------------

PREPARE_URL = "/api/v1/payments/portone/prepare"
COMPLETE_URL = "/api/v1/payments/portone/complete"
WEBHOOK_URL = "/api/v1/payments/portone/webhook"


def prepare(client, product: str = "premium_monthly") -> dict:
    response = client.post(PREPARE_URL, {"product": product}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def pay_at_portone(fake: FakePortOne, order: dict, **overrides) -> FakePayment:
    """What the customer does in PortOne's payment window: PortOne now reports the payment (PAID by default)."""
    return fake.set_payment(
        order["payment_id"], **{"amount": order["amount"], "currency": order["currency"], **overrides}
    )


def complete(client, payment_id: str):
    return client.post(COMPLETE_URL, {"payment_id": payment_id}, format="json")


def send_webhook(client, body: str, headers: dict[str, str]):
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
