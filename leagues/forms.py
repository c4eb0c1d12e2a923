"""Page forms of the leagues app: they parse what was typed; leagues.services decides what is allowed."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kernel.fields import DAY_BOUNDS, AsciiIntegerField, visible_text
from leagues.models import Visibility
from leagues.services import MAX_MEMBERS


class LeagueForm(forms.Form):
    name = forms.CharField(
        label=_("League name"),
        max_length=60,
        validators=[visible_text],
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    starts_on = forms.DateField(
        label=_("First day"), validators=DAY_BOUNDS, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        label=_("Last day"),
        validators=DAY_BOUNDS,
        help_text=_("Seoul days, both included; a league lasts at most a year."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    visibility = forms.ChoiceField(
        label=pgettext_lazy("league form", "Who can join"),
        choices=[
            (Visibility.PUBLIC, _("Public: anyone can find and join it")),
            (Visibility.PRIVATE, _("Private: only with the join code (premium)")),
        ],
        initial=Visibility.PUBLIC,
        widget=forms.RadioSelect,
    )
    max_members = AsciiIntegerField(
        label=_("Max members"),
        min_value=2,
        max_value=MAX_MEMBERS,
        initial=50,
        widget=forms.NumberInput(attrs={"step": 1, "inputmode": "numeric"}),
        error_messages={"invalid": _("Enter a whole number.")},
    )


class JoinCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Join code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "class": "mono"}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()


class ProfileForm(forms.Form):
    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=20,
        required=False,
        help_text=_("2 to 20 letters, digits, spaces, '_' or '-'. Shown to others instead of your username."),
    )
    leaderboard_opt_in = forms.BooleanField(label=_("Show me on the public leaderboard"), required=False)
