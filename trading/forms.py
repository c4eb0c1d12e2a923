from django import forms
from django.conf import settings

from trading.models import OrderType, Side, TimeInForce


class OrderTicketForm(forms.Form):
    side = forms.ChoiceField(choices=Side.choices, widget=forms.RadioSelect, initial=Side.BUY)
    order_type = forms.ChoiceField(choices=OrderType.choices, initial=OrderType.MARKET, label="Type")
    quantity = forms.IntegerField(min_value=1, max_value=settings.ORDER_MAX_QUANTITY, initial=1)
    limit_price = forms.IntegerField(min_value=1, required=False, label="Limit price")
    stop_price = forms.IntegerField(min_value=1, required=False, label="Stop price")
    time_in_force = forms.ChoiceField(choices=TimeInForce.choices, initial=TimeInForce.DAY, label="Time in force")
