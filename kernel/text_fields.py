"""Text fields that take JSON strings only.

DRF's CharField turns numbers into text (`{"name": 0}` becomes "0"), so a body that breaks the
documented `type: string` would be acted on. These refuse anything but a string with a 400.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

_NOT_TEXT = _("Enter text (a JSON string).")


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": _NOT_TEXT}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    default_error_messages = {"not_text": _NOT_TEXT}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)
