"""Password validators of AUTH_PASSWORD_VALIDATORS that Django does not ship."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class VisiblePasswordValidator:
    """Refuses a password that is blank once whitespace is stripped: MinimumLengthValidator counts
    twelve spaces (or tabs, or U+3000 ideographic spaces) as a twelve-character password."""

    def validate(self, password: str, user=None) -> None:
        if not password.strip():
            raise ValidationError(_("The password cannot be only spaces."), code="password_blank")

    def get_help_text(self) -> str:
        return _("Your password must contain characters other than spaces.")
