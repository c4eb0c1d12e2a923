from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel.fields import DAY_BOUNDS, MAX_WON, AsciiIntegerField, visible_text
from marketdata.codes import normalize_stock_code
from portfolio.models import TransactionType


class CashForm(forms.Form):
    amount = AsciiIntegerField(
        min_value=1,
        max_value=int(MAX_WON),
        widget=forms.NumberInput(attrs={"placeholder": _("e.g. 1000000"), "step": 1, "inputmode": "numeric"}),
        error_messages={
            "invalid": _("Enter a whole number of won."),
            "min_value": _("Enter at least 1원."),
            "max_value": format_lazy(_("Enter at most {amount}원."), amount=f"{int(MAX_WON):,}"),
        },
    )


class LedgerFilterForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("", _("All types")), *TransactionType.choices],
        required=False,
        widget=forms.Select(attrs={"aria-label": _("Transaction type")}),
    )
    # a code (A005930, 005930) or a name (삼성전자): the ledger page resolves names to a code
    stock = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "삼성전자, A005930", "aria-label": _("Stock name or code")}),
    )
    date_from = forms.DateField(
        required=False,
        validators=DAY_BOUNDS,
        widget=forms.DateInput(attrs={"type": "date", "aria-label": _("From day")}),
    )
    date_to = forms.DateField(
        required=False, validators=DAY_BOUNDS, widget=forms.DateInput(attrs={"type": "date", "aria-label": _("To day")})
    )

    def clean_stock(self):
        text = self.cleaned_data["stock"].strip()
        code = normalize_stock_code(text) or normalize_stock_code(f"A{text}")
        return code or text

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", gettext("Must not be before the start date."))
        return data


class WatchlistForm(forms.Form):
    name = forms.CharField(
        max_length=50,
        validators=[visible_text],
        widget=forms.TextInput(
            attrs={"placeholder": _("New list, e.g. 반도체"), "aria-label": _("New watchlist name")}
        ),
    )
