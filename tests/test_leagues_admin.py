"""Staff: leagues, members and public profiles in the admin; ending a league early and removing a member go through
the services (issue 17, item 5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leagues.models import LeaderboardEntry, League, Membership, Profile, Standing
from leagues.services import league_create, league_join, profile_update
from marketdata.calendar import seoul_today
from tests.factories import UserFactory, open_account_for

pytestmark = pytest.mark.django_db


def today():
    return seoul_today(timezone.now())


def make_user(nickname=None):
    user = UserFactory()
    open_account_for(user)
    if nickname:
        profile_update(user=user, nickname=nickname, leaderboard_opt_in=True)
    return user


def make_league(owner=None, name="수요일 투자 동아리"):
    owner = owner or make_user()
    return league_create(
        owner=owner, name=name, starts_on=today(), ends_on=today() + timedelta(days=13), visibility="PUBLIC"
    )


def run_action(admin_client, model: str, action: str, ids):
    return admin_client.post(f"/admin/leagues/{model}/", {"action": action, "_selected_action": list(ids)}, follow=True)


def test_every_leagues_changelist_and_the_league_page_render_for_staff(admin_client):
    owner, member = make_user("개미대장"), make_user("주린이")
    league = make_league(owner)
    league_join(user=member, league_id=league.pk)
    Standing.objects.filter(league=league, user=owner).update(rank=1, return_pct=2.5)
    LeaderboardEntry.objects.create(
        period="all", user=owner, rank_by_return=1, return_pct=2.5, days=3, as_of=today(), computed_at=timezone.now()
    )
    for model in ("league", "membership", "profile", "standing", "leaderboardentry"):
        response = admin_client.get(f"/admin/leagues/{model}/")
        assert response.status_code == 200, model
    page = admin_client.get(f"/admin/leagues/league/{league.pk}/change/").content.decode()
    assert "수요일 투자 동아리" in page
    assert "개미대장" in page
    assert "주린이" in page

    changelist = admin_client.get("/admin/leagues/league/").content.decode()
    assert ">2<" in changelist  # the members column
    assert admin_client.get("/admin/leagues/league/", {"q": league.join_code}).context["cl"].result_count == 1
    assert admin_client.get("/admin/leagues/league/", {"q": "없는 리그"}).context["cl"].result_count == 0


def test_the_status_filter_splits_running_upcoming_and_ended_leagues(admin_client):
    running = make_league(name="진행 중")
    upcoming = league_create(
        owner=make_user(), name="곧 시작", starts_on=today() + timedelta(days=3), ends_on=today() + timedelta(days=9),
        visibility="PUBLIC",
    )  # fmt: skip
    ended = make_league(name="끝난 리그")
    League.objects.filter(pk=ended.pk).update(ended_at=timezone.now())
    for status, league in (("running", running), ("upcoming", upcoming), ("ended", ended)):
        shown = admin_client.get("/admin/leagues/league/", {"status": status}).context["cl"].result_list
        assert list(shown) == [league], status


def test_ending_leagues_early_ends_the_running_one_and_says_which_were_over_already(admin_client, admin_user):
    running = make_league(name="진행 중인 리그")
    over = make_league(name="이미 끝난 리그")
    ended_at = timezone.now() - timedelta(hours=1)
    League.objects.filter(pk=over.pk).update(ended_at=ended_at)

    response = run_action(admin_client, "league", "end_early", [running.pk, over.pk])

    assert response.status_code == 200
    running.refresh_from_db()
    over.refresh_from_db()
    assert running.ended_at is not None
    assert over.ended_at == ended_at  # untouched
    said = {m.level_tag: str(m) for m in response.context["messages"]}
    assert set(said) == {"success", "warning"}
    assert "1" in said["success"]
    assert "이미 끝난 리그" in said["warning"]
    assert "진행 중인 리그" not in said["warning"]


def test_removing_a_member_drops_the_membership_and_its_standing_only(admin_client):
    owner, leaving, staying = make_user(), make_user(), make_user()
    league = make_league(owner)
    removed = league_join(user=leaving, league_id=league.pk)
    league_join(user=staying, league_id=league.pk)

    response = run_action(admin_client, "membership", "remove_from_league", [removed.pk])

    assert response.status_code == 200
    assert set(Membership.objects.filter(league=league).values_list("user", flat=True)) == {owner.pk, staying.pk}
    assert set(Standing.objects.filter(league=league).values_list("user", flat=True)) == {owner.pk, staying.pk}


def test_a_membership_cannot_be_added_edited_or_deleted_around_the_services(admin_client):
    league = make_league()
    membership = Membership.objects.get(league=league)
    assert admin_client.get("/admin/leagues/membership/add/").status_code == 403
    assert admin_client.get(f"/admin/leagues/membership/{membership.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/leagues/league/add/").status_code == 403
    page = admin_client.get("/admin/leagues/membership/").content.decode()
    assert "delete_selected" not in page
    assert "remove_from_league" in page


def profile_form(admin_client, profile, **data):
    return admin_client.post(
        f"/admin/leagues/profile/{profile.pk}/change/",
        {"nickname": profile.nickname, "leaderboard_opt_in": "on" if profile.leaderboard_opt_in else "", **data},
    )


def test_staff_rename_a_nickname_through_the_users_rules(admin_client):
    user = make_user("원래이름")
    profile = Profile.objects.get(user=user)

    response = profile_form(admin_client, profile, nickname="새 이름")

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.nickname, profile.nickname_key, profile.leaderboard_opt_in) == ("새 이름", "새이름", True)


@pytest.mark.parametrize("nickname", ["관리자님", "x", "", "taken name"])
def test_a_refused_rename_is_shown_on_the_form_and_writes_nothing(admin_client, nickname):
    make_user("Taken Name")
    user = make_user("원래이름")
    profile = Profile.objects.get(user=user)

    response = profile_form(admin_client, profile, nickname=nickname)

    assert response.status_code == 200  # the form again, with its error
    assert response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert (profile.nickname, profile.nickname_key) == ("원래이름", "원래이름")


def test_staff_take_a_profile_off_the_leaderboard_keeping_its_nickname(admin_client):
    profile = Profile.objects.get(user=make_user("내려갈이름"))

    response = profile_form(admin_client, profile, leaderboard_opt_in="")

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.nickname, profile.leaderboard_opt_in) == ("내려갈이름", False)
