from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kernel.admin_columns import ReadOnlyAdmin, won_column
from kernel.errors import ApplicationError
from payments.forms import RefundForm
from payments.models import Payment, PaymentStatus, ProcessedWebhook, Product, Subscription
from payments.services import payment_refund


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """The catalogue: a price change applies to payments prepared afterwards, never to earlier ones."""

    list_display = ["code", "name", won_column(Product, "price"), "currency", "period_days", "is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "currency", "updated_at"] if obj else ["updated_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # payments keep pointing at it; deactivate instead


@admin.action(description=_("Refund at PortOne and take back the premium they bought"), permissions=["change"])
def refund_payments(modeladmin, request, queryset):
    selected = list(queryset.select_related("user", "product"))
    refundable = [p for p in selected if p.status in (PaymentStatus.PAID, PaymentStatus.PARTIAL_CANCELLED)]
    if not refundable:
        modeladmin.message_user(
            request, gettext("None of the selected payments is paid; nothing to refund."), messages.ERROR
        )
        return None
    form = RefundForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        refunded, errors = 0, []
        for payment in refundable:
            try:
                payment_refund(payment=payment, reason=reason, staff_user=request.user)
            except ApplicationError as exc:
                errors.append(gettext("%(payment)s: %(error)s") % {"payment": payment.payment_id, "error": exc.message})
            else:
                refunded += 1
                modeladmin.log_change(request, payment, f"Refunded at PortOne: {reason}")
        if refunded:
            message = ngettext(
                "Refunded %(count)d payment; premium taken back.",
                "Refunded %(count)d payments; premium taken back.",
                refunded,
            )
            modeladmin.message_user(request, message % {"count": refunded}, messages.SUCCESS)
        for error in errors:
            modeladmin.message_user(request, gettext("Not refunded: %(error)s") % {"error": error}, messages.ERROR)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Refund payments"),
        "payments": refundable,
        "skipped": len(selected) - len(refundable),
        "form": form,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "payments/admin_refund.html", context)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Payments change only through PortOne and the services: every field is read-only here."""

    list_display = [
        "payment_id",
        "user",
        "product",
        won_column(Payment, "amount"),
        "currency",
        "status",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", "product", "currency", "created_at"]
    search_fields = ["=payment_id", "=transaction_id", "user__username", "user__email"]
    list_select_related = ["user", "product"]
    actions = [refund_payments]
    readonly_fields = [
        "payment_id", "user", "product", "order_name", "amount", "currency", "period_days", "status",
        "transaction_id", "failure_reason", "reconcile_attempts", "raw_response", "created_at", "updated_at",
        "paid_at", "cancelled_at",
    ]  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # the list and its refund action need "change"; a single payment is only ever viewed
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "status", "premium", "current_period_start", "current_period_end"]
    list_filter = ["status", "product", "current_period_end"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "product"]
    fields = ["user", "product", "status", "current_period_start", "current_period_end", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(boolean=True, description=_("premium now"))
    def premium(self, obj: Subscription) -> bool:
        return obj.is_active

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # periods change through payments and refunds only

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProcessedWebhook)
class ProcessedWebhookAdmin(ReadOnlyAdmin):
    list_display = ["webhook_id", "event_type", "payment_id", "outcome", "received_at"]
    list_filter = ["event_type", "received_at"]
    search_fields = ["=webhook_id", "=payment_id"]
