"""The one module that talks to PortOne V2, through the official `portone-server-sdk`.

Callers get the SDK's payment objects (`PaidPayment`, `FailedPayment`, …: branch with isinstance, they have
no `.status`) or one of our errors. Secrets come from settings and are never logged: failures are logged
with the exception type and PortOne's message only.

Test mode (settings.PORTONE_TEST_MODE, the keyless `make demo`): the same SDK calls go to the built-in fake
PortOne of `payments.fake_api`, wired in as the HTTP client's transport, so nothing leaves the process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from portone_server_sdk import PaymentClient, webhook
from portone_server_sdk.errors import PaymentAlreadyCancelledError, PaymentNotFoundError, PortOneError
from portone_server_sdk.payment import Payment as RemotePayment

from kernel.errors import ConflictError
from payments.errors import PortOneUnavailable, WebhookNotConfigured, WebhookRejected

logger = logging.getLogger(__name__)

# The SDK's own HTTP client waits up to 60 s; a web worker should give up well before its own timeout.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

# Test mode stands in for the keys it does not have; none of these reach a real PortOne.
TEST_MODE_STORE_ID = "store-test-mode"
TEST_MODE_CHANNEL_KEY = "channel-key-test-mode"
TEST_MODE_API_SECRET = "test-mode-api-secret"  # noqa: S105 - a placeholder checked only by the in-process fake
TEST_MODE_API_BASE = "http://fake-portone.invalid"  # .invalid never resolves: nothing can leave by mistake


@dataclass(frozen=True)
class PortOneConfig:
    store_id: str
    channel_key: str
    api_secret: str = dataclasses.field(repr=False)
    webhook_secret: str = dataclasses.field(repr=False)
    api_base: str
    test_mode: bool


def config() -> PortOneConfig:
    """The effective PortOne settings (read per call, so tests can change them)."""
    test_mode = bool(settings.PORTONE_TEST_MODE)
    return PortOneConfig(
        store_id=settings.PORTONE_STORE_ID or (TEST_MODE_STORE_ID if test_mode else ""),
        channel_key=settings.PORTONE_CHANNEL_KEY or (TEST_MODE_CHANNEL_KEY if test_mode else ""),
        api_secret=TEST_MODE_API_SECRET if test_mode else settings.PORTONE_V2_API_SECRET,
        webhook_secret=settings.PORTONE_WEBHOOK_SECRET,
        api_base=TEST_MODE_API_BASE if test_mode else settings.PORTONE_API_BASE.rstrip("/"),
        test_mode=test_mode,
    )


_clients: dict[tuple[str, str, bool], PaymentClient] = {}
_clients_lock = threading.Lock()


def _client(secret: str, base_url: str, test_mode: bool) -> PaymentClient:
    # One client per configuration and process: building one opens a dozen httpx clients,
    # and httpx.Client is thread-safe.
    key = (secret, base_url, test_mode)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _build_client(secret, base_url, test_mode)
        return client


def _build_client(secret: str, base_url: str, test_mode: bool) -> PaymentClient:
    client = PaymentClient(secret=secret, base_url=base_url)
    transport = None
    if test_mode:
        from payments.fake_api import handle  # only ever imported in test mode

        transport = httpx.MockTransport(handle)
    client._sync_client.close()
    client._sync_client = httpx.Client(timeout=TIMEOUT, transport=transport)  # the SDK offers no timeout option
    return client


def payment_client() -> PaymentClient:
    cfg = config()
    if not cfg.api_secret:
        raise PortOneUnavailable(gettext("Payments are not configured on this server (PORTONE_V2_API_SECRET)."))
    return _client(cfg.api_secret, cfg.api_base, cfg.test_mode)


def _log_failure(operation: str, payment_id: str, exc: BaseException) -> None:
    # Never the request (it carries the secret) nor an unreadable body (it may carry customer data).
    if isinstance(exc, PortOneError):
        detail = exc.message or ""
    elif isinstance(exc, httpx.HTTPError):
        detail = str(exc)
    else:
        detail = "an answer the SDK cannot read"
    logger.warning("PortOne %s failed for %s: %s: %s", operation, payment_id, exc.__class__.__name__, detail)


def get_payment(*, payment_id: str) -> RemotePayment | None:
    """PortOne's view of the payment, or None when PortOne does not know the id.

    Raises PortOneUnavailable on network errors, refusals (bad secret, forbidden) and unreadable answers.
    """
    try:
        return payment_client().get_payment(payment_id=payment_id)
    except PaymentNotFoundError:
        return None
    except (PortOneError, httpx.HTTPError, ValueError) as exc:  # ValueError: a body the SDK cannot read
        _log_failure("get_payment", payment_id, exc)
        raise PortOneUnavailable() from exc


class RefundRefused(ConflictError):
    code = "refund_refused"
    default_message = _("PortOne refused to cancel the payment.")


def cancel_payment(*, payment_id: str, reason: str) -> dict:
    """Cancel (refund) the whole payment at PortOne; returns PortOne's cancellation as a dict.

    A payment PortOne already cancelled counts as done: returns {"already_cancelled": True}.
    Raises RefundRefused with PortOne's message, or PortOneUnavailable.
    """
    try:
        response = payment_client().cancel_payment(payment_id=payment_id, reason=reason)
    except PaymentAlreadyCancelledError:
        return {"already_cancelled": True}
    except PortOneError as exc:
        _log_failure("cancel_payment", payment_id, exc)
        raise RefundRefused(exc.message or RefundRefused.default_message) from exc
    except (httpx.HTTPError, ValueError) as exc:
        _log_failure("cancel_payment", payment_id, exc)
        raise PortOneUnavailable() from exc
    return as_json(response)


def as_json(obj) -> dict:
    """An SDK object as plain JSON data (stored as the payment's raw_response)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj if isinstance(obj, dict) else {"value": repr(obj)}


@dataclass(frozen=True)
class VerifiedWebhook:
    webhook_id: str  # Standard Webhooks' webhook-id: the same on every retry of one delivery
    event_type: str  # e.g. "Transaction.Paid"
    event: webhook.Webhook  # the SDK's event dataclass; a plain dict for types it does not know


def verify_webhook(*, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
    """A webhook verified with the SDK (Standard Webhooks signature, timestamp within ±5 min).

    Raises WebhookRejected (400) for a missing header, a bad signature, a stale timestamp or a body that
    is not a JSON object; WebhookNotConfigured (503) when our secret is missing or malformed.
    """
    secret = config().webhook_secret
    if not secret:
        raise WebhookNotConfigured()
    try:
        text = body.decode("utf-8")  # the SDK verifies a str: bytes never match
    except UnicodeDecodeError as exc:
        raise WebhookRejected(gettext("The webhook body is not UTF-8 text.")) from exc
    lower_headers = {name.lower(): value for name, value in headers.items()}
    try:
        event = webhook.verify(secret, text, lower_headers)
    except webhook.WebhookVerificationError as exc:
        raise WebhookRejected(
            _WEBHOOK_REASONS.get(exc.reason, _("Invalid webhook.")), details={"reason": exc.reason}
        ) from exc
    except webhook.InvalidInputError as exc:
        logger.error("PORTONE_WEBHOOK_SECRET is not a valid Standard Webhooks secret (base64, optional whsec_)")
        raise WebhookNotConfigured() from exc
    except (ValueError, RecursionError) as exc:  # signed, but not a JSON object (or nested past parsing)
        raise WebhookRejected(gettext("The webhook body is not a JSON object.")) from exc
    event_type = json.loads(text).get("type")  # verified above: a JSON object
    return VerifiedWebhook(lower_headers["webhook-id"], event_type if isinstance(event_type, str) else "", event)


_WEBHOOK_REASONS = {
    "MISSING_REQUIRED_HEADERS": _("The webhook-id, webhook-timestamp and webhook-signature headers are required."),
    "NO_MATCHING_SIGNATURE": _("The webhook signature does not match."),
    "INVALID_SIGNATURE": _("The webhook signature headers are malformed."),
    "TIMESTAMP_TOO_OLD": _("The webhook timestamp is more than 5 minutes old."),
    "TIMESTAMP_TOO_NEW": _("The webhook timestamp is more than 5 minutes in the future."),
}
