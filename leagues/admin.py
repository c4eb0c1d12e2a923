"""Staff: leagues, their members and public profiles (docs/architecture.md §16).

Every change goes through `leagues.services` (ending a league early, removing a member, renaming a nickname), so the
rules and the derived rows stay as the pages leave them; standings and the leaderboard are shown, never edited."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kernel.admin_columns import ReadOnlyAdmin
from kernel.errors import ApplicationError
from leagues.errors import LeagueEnded
from leagues.models import LeaderboardEntry, League, LeagueStatus, Membership, Profile, Standing
from leagues.selectors import league_status, public_name, today_kst
from leagues.services import league_end, member_remove, profile_update


class LeagueStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return LeagueStatus.choices

    def queryset(self, request, queryset):
        today = today_kst()
        over = Q(ended_at__isnull=False) | Q(ends_on__lt=today)
        if self.value() == LeagueStatus.ENDED:
            return queryset.filter(over)
        if self.value() == LeagueStatus.RUNNING:
            return queryset.exclude(over).filter(starts_on__lte=today)
        if self.value() == LeagueStatus.UPCOMING:
            return queryset.exclude(over).filter(starts_on__gt=today)
        return queryset


@admin.action(description=_("End early (standings computed once more, then final)"), permissions=["change"])
def end_early(modeladmin, request, queryset):
    ended, already = 0, []
    for league in queryset:
        try:
            league_end(league_id=league.pk, by=request.user)
        except LeagueEnded:
            already.append(league.name)
        else:
            ended += 1
            modeladmin.log_change(request, league, "Ended early by staff")
    if ended:
        message = ngettext("Ended %(count)d league.", "Ended %(count)d leagues.", ended)
        modeladmin.message_user(request, message % {"count": ended}, messages.SUCCESS)
    if already:
        modeladmin.message_user(
            request,
            gettext("Already over, left as they were: %(leagues)s") % {"leagues": ", ".join(already)},
            messages.WARNING,
        )


class MembershipInline(admin.TabularInline):
    """Members are removed with the member list's action, which also drops their standing."""

    model = Membership
    fields = readonly_fields = ("user", "nickname", "joined_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user__league_profile")

    @admin.display(description=_("nickname"))
    def nickname(self, obj: Membership) -> str:
        return public_name(obj.user)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(League)
class LeagueAdmin(admin.ModelAdmin):
    """A league's rules (dates, visibility, size) are fixed at creation; staff may rename it and end it early."""

    list_display = [
        "name", "owner", "starts_on", "ends_on", "visibility", "member_count", "status", "standings_computed_at",
    ]  # fmt: skip
    list_filter = [LeagueStatusFilter, "visibility", "starts_on", "ends_on"]
    search_fields = ["name", "=join_code", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = (
        "owner", "starts_on", "ends_on", "visibility", "join_code", "max_members", "created_at", "ended_at",
        "standings_computed_at",
    )  # fmt: skip
    fields = ("name", *readonly_fields)
    inlines = [MembershipInline]
    actions = [end_early]

    @admin.display(description=_("status"))
    def status(self, obj: League) -> str:
        return league_status(obj, today_kst()).label

    def has_add_permission(self, request):
        return False  # leagues are created by their owners, through the rules of league_create

    def has_delete_permission(self, request, obj=None):
        return False  # end it instead: its members' final standings stay


@admin.action(description=_("Remove from the league (and from its standings)"), permissions=["change"])
def remove_from_league(modeladmin, request, queryset):
    removed = 0
    for membership in queryset.select_related("league"):
        member_remove(membership_id=membership.pk)
        removed += 1
        modeladmin.log_change(request, membership.league, f"Removed member #{membership.user_id} (staff)")
    message = ngettext("Removed %(count)d member.", "Removed %(count)d members.", removed)
    modeladmin.message_user(request, message % {"count": removed}, messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["league", "user", "nickname", "joined_at"]
    list_filter = ["league__visibility", "joined_at"]
    search_fields = ["league__name", "=league__join_code", "user__username", "user__league_profile__nickname"]
    list_select_related = ["league", "user__league_profile"]
    fields = readonly_fields = ("league", "user", "number", "joined_at")
    actions = [remove_from_league]

    @admin.display(description=_("nickname"))
    def nickname(self, obj: Membership) -> str:
        return public_name(obj.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # the list and its remove action need "change"; a single membership is only ever viewed
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # the remove action drops the standing too


class _DryRun(Exception):
    pass


class ProfileForm(forms.ModelForm):
    """A staff rename follows the users' rules (leagues.services.profile_update): checked here in a savepoint that
    is rolled back, so a refused nickname is shown on the form; the admin's save then runs the service for real."""

    class Meta:
        model = Profile
        fields = ["nickname", "leaderboard_opt_in"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                profile_update(**self._changes())
                raise _DryRun
        except _DryRun:
            pass
        except ApplicationError as exc:
            for field, problems in (exc.details or {None: [exc.message]}).items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return cleaned

    def _changes(self) -> dict:
        changes: dict = {"user": self.instance.user, "leaderboard_opt_in": self.cleaned_data["leaderboard_opt_in"]}
        if "nickname" in self.changed_data:
            changes["nickname"] = self.cleaned_data.get("nickname") or ""
        return changes


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """What the public sees of a user. Staff may rename a nickname (an offensive one) or take it off the
    leaderboard."""

    form = ProfileForm
    list_display = ["nickname", "user", "leaderboard_opt_in", "updated_at"]
    list_filter = ["leaderboard_opt_in"]
    search_fields = ["nickname", "user__username", "user__email"]
    list_select_related = ["user"]
    fields = ["user", "nickname", "leaderboard_opt_in", "updated_at"]
    readonly_fields = ["user", "updated_at"]

    def save_model(self, request, obj, form, change):
        profile = profile_update(**form._changes())
        obj.nickname, obj.nickname_key, obj.leaderboard_opt_in = (
            profile.nickname,
            profile.nickname_key,
            profile.leaderboard_opt_in,
        )

    def has_add_permission(self, request):
        return False  # a user makes their own profile

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Standing)
class StandingAdmin(ReadOnlyAdmin):
    list_display = ["league", "rank", "user", "nickname", "return_pct", "max_drawdown_pct", "sharpe_ratio", "trades",
                    "days"]  # fmt: skip
    search_fields = ["league__name", "=league__join_code", "user__username"]
    list_select_related = ["league", "user__league_profile"]
    ordering = ["league", "rank"]

    @admin.display(description=_("nickname"))
    def nickname(self, obj: Standing) -> str:
        return public_name(obj.user)


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyAdmin):
    list_display = ["period", "rank_by_return", "rank_by_sharpe", "user", "nickname", "return_pct", "sharpe_ratio",
                    "max_drawdown_pct", "days", "as_of", "computed_at"]  # fmt: skip
    list_filter = ["period"]
    search_fields = ["user__username", "user__league_profile__nickname"]
    list_select_related = ["user__league_profile"]
    ordering = ["period", "rank_by_return"]

    @admin.display(description=_("nickname"))
    def nickname(self, obj: LeaderboardEntry) -> str:
        return public_name(obj.user)
