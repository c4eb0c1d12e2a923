from django import forms

from kernel.fields import DAY_BOUNDS, MAX_WON, visible_text
from marketdata.codes import normalize_stock_code
from portfolio.models import TransactionType


class CashForm(forms.Form):
    amount = forms.IntegerField(
        min_value=1,
        max_value=int(MAX_WON),
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 1000000", "step": 1, "inputmode": "numeric"}),
        error_messages={
            "invalid": "Enter a whole number of won.",
            "min_value": "Enter at least 1원.",
            "max_value": f"Enter at most {int(MAX_WON):,}원.",
        },
    )


class LedgerFilterForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("", "All types"), *TransactionType.choices],
        required=False,
        widget=forms.Select(attrs={"aria-label": "Transaction type"}),
    )
    # a code (A005930, 005930) or a name (삼성전자): the ledger page resolves names to a code
    stock = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "삼성전자, A005930", "aria-label": "Stock name or code"}),
    )
    date_from = forms.DateField(
        required=False, validators=DAY_BOUNDS, widget=forms.DateInput(attrs={"type": "date", "aria-label": "From day"})
    )
    date_to = forms.DateField(
        required=False, validators=DAY_BOUNDS, widget=forms.DateInput(attrs={"type": "date", "aria-label": "To day"})
    )

    def clean_stock(self):
        text = self.cleaned_data["stock"].strip()
        code = normalize_stock_code(text) or normalize_stock_code(f"A{text}")
        return code or text

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "Must not be before the start date.")
        return data


class WatchlistForm(forms.Form):
    name = forms.CharField(
        max_length=50,
        validators=[visible_text],
        widget=forms.TextInput(attrs={"placeholder": "New list, e.g. 반도체", "aria-label": "New watchlist name"}),
    )
