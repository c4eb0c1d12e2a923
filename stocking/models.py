"""What the auth API keeps beside django.contrib.auth: refresh-token families and username keys
(docs/architecture.md §11)."""

from django.conf import settings
from django.db import models


class RefreshTokenFamily(models.Model):
    """Every refresh token descended from one login. Exactly one of them, `current_jti`, may be
    exchanged; presenting an older one means a copy leaked, and the whole family is revoked."""

    family = models.CharField(max_length=64, unique=True)  # the refresh token's "fam" claim
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    current_jti = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "refresh token families"

    def __str__(self) -> str:
        return f"refresh family {self.family} of user {self.user_id}"


class UsernameKey(models.Model):
    """A username folded for comparison (NFKC, casefolded): unique on every database, where the
    username column's collation is case-sensitive on SQLite and case-insensitive on MariaDB."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    key = models.CharField(max_length=255, unique=True)  # casefolding may lengthen (ß → ss)

    def __str__(self) -> str:
        return self.key
