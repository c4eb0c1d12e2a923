from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel.admin_columns import ReadOnlyAdmin
from kernel.errors import ApplicationError
from marketdata.models import Candle, MarketIndex, MarketIndexDay, Stock
from marketdata.relay_commands import relay_command_send
from marketdata.selectors import relay_health_read, relay_subscriptions_list
from marketdata.topics import TRADE_TOPIC_PREFIX, code_from_topic, is_stock_code, trade_topic


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "name_en",
        "market",
        "sector",
        "reference_price",
        "shares_outstanding",
        "market_cap_rank",
        "is_active",
    ]
    list_filter = ["market", "is_active", "sector"]
    search_fields = ["code", "name", "name_en", "industry"]
    list_editable = ["is_active"]
    ordering = ["market_cap_rank", "code"]


@admin.register(MarketIndex)
class MarketIndexAdmin(admin.ModelAdmin):
    """The feed code is editable: Toss's index topics are unofficial and may be renamed."""

    list_display = ["code", "name", "name_en", "feed_code"]
    readonly_fields = ["code"]

    def has_add_permission(self, request):
        return False  # load_indices creates KOSPI and KOSDAQ

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MarketIndexDay)
class MarketIndexDayAdmin(ReadOnlyAdmin):
    """The shipped daily history (load_indices); shown, not edited."""

    list_display = ["index", "date", "open", "high", "low", "close", "volume"]
    list_filter = ["index"]
    date_hierarchy = "date"
    show_full_result_count = False


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    """Candles are built from ticks; the admin shows them."""

    list_display = ["stock", "start", "open", "high", "low", "close", "volume"]
    list_select_related = ["stock"]
    search_fields = ["stock__code", "stock__name"]
    show_full_result_count = False


# --- the relay page: /admin/marketdata/relay/ ------------------------------------------------


class RelayCommandForm(forms.Form):
    code = forms.CharField(
        max_length=7,
        label=_("Stock code"),
        help_text=format_lazy(_("e.g. A005930; the topic is {prefix}<code>."), prefix=TRADE_TOPIC_PREFIX),
    )
    action = forms.ChoiceField(
        label=_("Action"), choices=[("subscribe", _("Subscribe")), ("unsubscribe", _("Unsubscribe"))]
    )

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not is_stock_code(code):
            raise forms.ValidationError(gettext("A stock code is A followed by six digits or capitals."))
        return code


def relay_admin_view(request):
    """The relay's heartbeat and subscriptions; subscribe/unsubscribe go through the staff API's service."""
    form = RelayCommandForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        topic = trade_topic(form.cleaned_data["code"])
        try:
            result = relay_command_send(type=form.cleaned_data["action"], topic=topic)
        except ApplicationError as exc:
            messages.error(
                request,
                gettext("%(action)s %(topic)s: %(error)s")
                % {"action": form.cleaned_data["action"], "topic": topic, "error": exc.message},
            )
        else:
            level = messages.SUCCESS if result.success else messages.WARNING
            messages.add_message(
                request,
                level,
                gettext("Relay: %(message)s (command %(command)s)")
                % {"message": result.message, "command": result.command_id},
            )
        return redirect("admin:marketdata_relay")
    health = relay_health_read()
    context = {
        **admin.site.each_context(request),
        "title": gettext("Market-data relay"),
        "health": health,
        "health_items": sorted(health.record.items()) if health else [],
        "subscriptions": [(topic, code_from_topic(topic)) for topic in relay_subscriptions_list()],
        "form": form,
        "topic_prefix": TRADE_TOPIC_PREFIX,
        "source": settings.MARKETDATA_SOURCE,
    }
    return TemplateResponse(request, "admin/marketdata/relay.html", context)


def _install_relay_page(site: admin.AdminSite) -> None:
    """Add the relay page to the admin's URLs and to the Marketdata section of its index."""
    get_urls, get_app_list = site.get_urls, site.get_app_list

    def urls():
        return [path("marketdata/relay/", site.admin_view(relay_admin_view), name="marketdata_relay"), *get_urls()]

    def app_list(request, app_label=None):
        apps = get_app_list(request, app_label)
        for app in apps:
            if app["app_label"] == "marketdata" and request.user.is_staff:
                app["models"].append(
                    {
                        "name": gettext("Relay (live feed)"),
                        "object_name": "Relay",
                        "perms": {"view": True},
                        "admin_url": reverse("admin:marketdata_relay", current_app=site.name),
                        "add_url": None,
                        "view_only": True,
                    }
                )
        return apps

    site.get_urls = urls
    site.get_app_list = app_list


_install_relay_page(admin.site)
