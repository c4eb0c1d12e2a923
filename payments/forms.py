from django import forms
from django.utils.translation import gettext_lazy as _


class RefundForm(forms.Form):
    """The admin's refund confirmation: the reason goes to PortOne with the cancellation."""

    reason = forms.CharField(
        max_length=200,
        label=_("Reason"),
        initial=_("Refunded at the customer's request"),
        help_text=_("Sent to PortOne as the cancellation reason."),
    )
