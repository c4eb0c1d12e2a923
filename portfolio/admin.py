from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel.admin_columns import ReadOnlyAdmin, won_column
from kernel.errors import ApplicationError
from kernel.fields import MAX_WON
from portfolio.models import Account, AccountEvent, Holding, Transaction, Watchlist, WatchlistItem
from portfolio.services import account_adjust


class AdjustmentForm(forms.Form):
    amount = forms.IntegerField(
        label=_("Amount"),
        help_text=_("Signed whole won: positive credits, negative debits."),
        min_value=-int(MAX_WON),
        max_value=int(MAX_WON),
    )
    reason = forms.CharField(max_length=200, label=_("Reason"))


@admin.action(description=_("Correct the cash balance (writes an ADJUSTMENT row)"))
def adjust_balance(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, gettext("Select exactly one account to correct."), messages.ERROR)
        return None
    account = queryset.get()
    form = AdjustmentForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        try:
            account_adjust(
                account_id=account.pk,
                amount=Decimal(form.cleaned_data["amount"]),  # the form gives an int; money is Decimal
                reason=form.cleaned_data["reason"],
                staff_user=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            modeladmin.message_user(request, gettext("Adjusted %(account)s.") % {"account": account}, messages.SUCCESS)
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Correct the balance of %(account)s") % {"account": account},
        "account": account,
        "form": form,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/portfolio/adjust_balance.html", context)


class HoldingInline(admin.TabularInline):
    model = Holding
    fields = ["stock", "quantity", "reserved_quantity", "average_cost", "last_fill_price"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "id", "user", won_column(Account, "cash"), won_column(Account, "reserved_cash"),
        won_column(Account, "starting_cash"), "is_open", "opened_at", "closed_at",
    ]  # fmt: skip
    list_filter = ["is_open", "opened_at"]
    search_fields = ["user__username", "user__email", "=id"]
    readonly_fields = ["user", "cash", "reserved_cash", "starting_cash", "opened_at", "closed_at", "is_open"]
    list_select_related = ["user"]
    inlines = [HoldingInline]
    actions = [adjust_balance]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "created_at", "account", "transaction_type", "stock", "quantity", won_column(Transaction, "price"),
        won_column(Transaction, "amount"), won_column(Transaction, "commission"), won_column(Transaction, "tax"),
        won_column(Transaction, "cash_balance_after"),
    ]  # fmt: skip
    list_filter = ["transaction_type", "created_at"]
    search_fields = ["account__user__username", "stock__code", "stock__name", "memo", "=account__id"]
    list_select_related = ["account__user", "stock"]


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "stock",
        "quantity",
        "reserved_quantity",
        won_column(Holding, "average_cost"),
        "updated_at",
    ]
    list_filter = ["stock__market"]
    search_fields = ["account__user__username", "stock__code", "stock__name"]
    list_select_related = ["account__user", "stock"]


class WatchlistItemInline(admin.TabularInline):
    model = WatchlistItem
    autocomplete_fields = ["stock"]
    extra = 0


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "position", "created_at"]
    search_fields = ["name", "user__username"]
    list_filter = ["created_at"]
    inlines = [WatchlistItemInline]


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ["account", "seq", "event_type", "created_at"]
    list_filter = ["event_type"]
    search_fields = ["account__user__username", "=account__id"]
    list_select_related = ["account__user"]
