"""Domain errors of the payments app, in the one API error shape."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from kernel.errors import ApplicationError, ConflictError, NotFoundError


class PaymentNotFound(NotFoundError):
    code = "payment_not_found"
    default_message = _("No such payment.")


class PaymentFailed(ConflictError):
    code = "payment_failed"
    default_message = _("The payment failed.")


class PaymentNotPaid(ConflictError):
    code = "payment_not_paid"
    default_message = _("PortOne does not report this payment as paid.")


class PaymentNotRefundable(ConflictError):
    code = "payment_not_refundable"
    default_message = _("Only paid payments can be refunded.")


class PortOneUnavailable(ApplicationError):
    """PortOne did not answer, or answered something we cannot use; safe to retry later."""

    status_code = status.HTTP_502_BAD_GATEWAY
    code = "portone_unavailable"
    default_message = _("The payment service did not answer; try again in a moment.")


class WebhookRejected(ApplicationError):
    code = "invalid_webhook"
    default_message = _("The webhook could not be verified.")


class WebhookNotConfigured(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "webhook_not_configured"
    default_message = _("Webhooks are not configured on this server.")


class PaymentsDisabled(ApplicationError):
    """The operator runs this server without payments (settings.PAYMENTS_ENABLED false): nothing reaches PortOne."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "payments_disabled"
    default_message = _("Payments are turned off on this server.")
