from django import forms


class RefundForm(forms.Form):
    """The admin's refund confirmation: the reason goes to PortOne with the cancellation."""

    reason = forms.CharField(
        max_length=200,
        initial="Refunded at the customer's request",
        help_text="Sent to PortOne as the cancellation reason.",
    )
