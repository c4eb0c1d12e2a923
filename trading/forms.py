from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kernel.fields import AsciiIntegerField
from trading.models import OrderType, Side, TimeInForce


class OrderTicketForm(forms.Form):
    side = forms.ChoiceField(choices=Side.choices, widget=forms.RadioSelect, initial=Side.BUY, label=_("Side"))
    order_type = forms.ChoiceField(choices=OrderType.choices, initial=OrderType.MARKET, label=_("Order type"))
    quantity = AsciiIntegerField(min_value=1, max_value=settings.ORDER_MAX_QUANTITY, initial=1, label=_("Quantity"))
    limit_price = AsciiIntegerField(min_value=1, required=False, label=_("Limit price"))
    stop_price = AsciiIntegerField(min_value=1, required=False, label=_("Stop price"))
    time_in_force = forms.ChoiceField(choices=TimeInForce.choices, initial=TimeInForce.DAY, label=_("Time in force"))
