"""Leagues, their members, public profiles and the cached standings (docs/architecture.md §16).

Standing and LeaderboardEntry are derived rows: written only by `leagues.standings` after the daily snapshot (and
through the day for running leagues), read by every standings page, so a read never scans the accounts."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Visibility(models.TextChoices):
    PUBLIC = "PUBLIC", pgettext_lazy("league visibility", "Public")
    PRIVATE = "PRIVATE", pgettext_lazy("league visibility", "Private")


class LeagueStatus(models.TextChoices):
    """Where a league stands on a KST day (leagues.selectors.league_status); not stored: it follows the calendar."""

    UPCOMING = "upcoming", _("Upcoming")
    RUNNING = "running", _("Running")
    ENDED = "ended", _("Ended")


class League(models.Model):
    name = models.CharField(_("name"), max_length=60)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_leagues")
    starts_on = models.DateField(_("starts on"), help_text=_("KST day"))
    ends_on = models.DateField(_("ends on"), help_text=_("KST day, included"))
    visibility = models.CharField(_("visibility"), max_length=7, choices=Visibility.choices)
    # Every league has one: private ones need it to join, public ones use it for invitation links.
    join_code = models.CharField(_("join code"), max_length=12, unique=True)
    max_members = models.PositiveIntegerField(_("max members"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the owner or staff end a league before its last day; it is then over and its standings final.
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    standings_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept by the join and leave services under the league's row lock: a read of a league of thousands counts
    # nothing, and members are numbered in the order they joined ("Member N" of those without a nickname).
    member_count = models.PositiveIntegerField(_("members"), default=0, editable=False)
    members_joined = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("league")
        verbose_name_plural = _("leagues")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="league_ends_after_start"),
            models.CheckConstraint(condition=Q(max_members__gte=2), name="league_at_least_two_members"),
        ]
        indexes = [models.Index(fields=["visibility", "ends_on"], name="league_open_public")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="league_memberships")
    number = models.PositiveIntegerField(help_text="the order of joining: “Member N” when there is no nickname")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["league", "id"]
        constraints = [
            models.UniqueConstraint(fields=["league", "user"], name="one_membership_per_league"),
            models.UniqueConstraint(fields=["league", "number"], name="one_member_number_per_league"),
        ]

    def __str__(self) -> str:
        return f"{self.league_id}: {self.user_id}"


class Profile(models.Model):
    """What the public sees of a user: a nickname, never the username or e-mail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="league_profile"
    )
    nickname = models.CharField(_("nickname"), max_length=20, null=True, blank=True)
    # The nickname folded for comparison (leagues.nicknames.nickname_key): unique on every database's collation.
    nickname_key = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    leaderboard_opt_in = models.BooleanField(_("on the public leaderboard"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("public profile")
        verbose_name_plural = _("public profiles")

    def __str__(self) -> str:
        return self.nickname or f"#{self.pk}"


class Standing(models.Model):
    """One member's line in a league's standings, as last computed."""

    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="standings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    member_number = models.PositiveIntegerField(help_text="Membership.number, so a read needs no join")
    rank = models.PositiveIntegerField(null=True, help_text="null: no history in the league's days yet")
    return_pct = models.FloatField(null=True)
    max_drawdown_pct = models.FloatField(null=True)
    sharpe_ratio = models.FloatField(null=True)
    trades = models.PositiveIntegerField(default=0)
    days = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["league", "user"], name="one_standing_per_member")]
        indexes = [models.Index(fields=["league", "rank"], name="standing_league_rank")]

    def __str__(self) -> str:
        return f"{self.league_id}: {self.user_id} #{self.rank}"


class Period(models.TextChoices):
    WEEK = "week", pgettext_lazy("leaderboard period", "Week")
    MONTH = "month", pgettext_lazy("leaderboard period", "Month")
    ALL = "all", pgettext_lazy("leaderboard period", "All time")


class Metric(models.TextChoices):
    RETURN = "return", pgettext_lazy("leaderboard metric", "Return")
    SHARPE = "sharpe", pgettext_lazy("leaderboard metric", "Sharpe ratio")


class LeaderboardEntry(models.Model):
    """One opted-in user's line on the public leaderboard of a period, as last computed."""

    period = models.CharField(max_length=5, choices=Period.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rank_by_return = models.PositiveIntegerField()
    rank_by_sharpe = models.PositiveIntegerField(null=True, help_text="null: under the trading days Sharpe needs")
    return_pct = models.FloatField()
    sharpe_ratio = models.FloatField(null=True)
    max_drawdown_pct = models.FloatField(null=True)
    days = models.PositiveIntegerField()
    as_of = models.DateField(help_text="the last snapshot day it counts")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "user"], name="one_leaderboard_entry_per_period")]
        indexes = [
            models.Index(fields=["period", "rank_by_return"], name="leaderboard_by_return"),
            models.Index(fields=["period", "rank_by_sharpe"], name="leaderboard_by_sharpe"),
        ]

    def __str__(self) -> str:
        return f"{self.period}: {self.user_id} #{self.rank_by_return}"
