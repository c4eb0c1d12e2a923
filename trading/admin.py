from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kernel.admin_columns import won_column
from kernel.errors import ApplicationError
from trading.models import Execution, Order
from trading.services import order_cancel_by_staff


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ExecutionInline(ReadOnlyMixin, admin.TabularInline):
    model = Execution
    fields = ["created_at", "quantity", "price", "commission", "tax", "amount"]
    readonly_fields = fields
    extra = 0


@admin.action(description=_("Cancel the selected working orders"))
def cancel_orders(modeladmin, request, queryset):
    canceled = 0
    for order_id in queryset.values_list("pk", flat=True):
        try:
            order_cancel_by_staff(order_id=order_id, staff_user=request.user)
            canceled += 1
        except ApplicationError as exc:
            message = gettext("Order %(order)s: %(error)s") % {"order": order_id, "error": exc.message}
            modeladmin.message_user(request, message, messages.WARNING)
    modeladmin.message_user(
        request,
        ngettext("Canceled %(count)d order.", "Canceled %(count)d orders.", canceled) % {"count": canceled},
        messages.SUCCESS,
    )


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id", "created_at", "account", "stock", "side", "order_type", "time_in_force", "quantity",
        "filled_quantity", won_column(Order, "limit_price"), won_column(Order, "stop_price"), "status",
    ]  # fmt: skip
    list_filter = ["status", "side", "order_type", "time_in_force", "created_at"]
    search_fields = ["=id", "client_order_id", "account__user__username", "stock__code", "stock__name"]
    list_select_related = ["account__user", "stock"]
    inlines = [ExecutionInline]
    actions = [cancel_orders]


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id", "created_at", "account", "stock", "side", "quantity", won_column(Execution, "price"),
        won_column(Execution, "commission"), won_column(Execution, "tax"), won_column(Execution, "amount"),
    ]  # fmt: skip
    list_filter = ["side", "created_at"]
    search_fields = ["=order__id", "account__user__username", "stock__code", "stock__name"]
    list_select_related = ["account__user", "stock"]
