"""League pages, the public leaderboard and the public profile (docs/architecture.md §16). Thin: leagues.services
writes, leagues.selectors reads; no page shows a username or e-mail, only public names."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kernel.errors import ApplicationError
from kernel.htmx import wants_fragment
from leagues import curves, selectors, services
from leagues.errors import InvalidLeague, InvalidNickname, LeagueNotFound, NicknameTaken, PremiumRequired
from leagues.forms import JoinCodeForm, LeagueForm, ProfileForm
from leagues.models import League, Metric, Period
from leagues.standings import SHARPE_MIN_DAYS

PAGE_SIZE = 50


def _with_status(leagues, today):
    rows = list(leagues)
    for league in rows:
        league.status = selectors.league_status(league, today)
        league.status_label = league.status.label
    return rows


# --- the list, create, join -------------------------------------------------------------------------------------


@login_required
def leagues_page(request):
    today = selectors.today_kst()
    mine = _with_status(selectors.leagues_visible(user=request.user, scope="mine", today=today), today)
    public = selectors.leagues_visible(user=request.user, scope="public", today=today).filter(is_member=False)
    page = Paginator(public, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _with_status(page.object_list, today)
    return render(request, "leagues/list.html", {"mine": mine, "page": page, "join_form": JoinCodeForm()})


@login_required
def league_create_page(request):
    premium_required = False
    if request.method == "POST":
        form = LeagueForm(request.POST)
        if form.is_valid():
            try:
                league = services.league_create(owner=request.user, **form.cleaned_data)
            except InvalidLeague as exc:
                for field, errors in exc.details.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            except PremiumRequired as exc:
                form.add_error(None, exc.message)
                premium_required = True
            else:
                messages.success(request, _("Your league is ready. Share its join code or invitation link."))
                return redirect("league-detail", league_id=league.pk)
        status = 403 if premium_required else 400
    else:
        status = 200
        today = selectors.today_kst()
        form = LeagueForm(initial={"starts_on": today, "ends_on": today + timedelta(days=27)})
    context = {"form": form, "premium_required": premium_required}
    return render(request, "leagues/new.html", context, status=status)


def _join(request, league: League, code: str | None):
    """Join and go to the league page; on a refusal, the message and None."""
    try:
        services.league_join(user=request.user, league_id=league.pk, join_code=code)
    except ApplicationError as exc:
        return None, exc
    messages.success(request, _("You joined %(league)s.") % {"league": league.name})
    return redirect("league-detail", league_id=league.pk), None


@login_required
def league_join_page(request):
    """The join-by-code form: a wrong code is a form error, as are an ended or full league and joining twice."""
    form = JoinCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            league = selectors.league_by_code(join_code=code)
        except LeagueNotFound:
            form.add_error("code", _("No league has this join code. Check it and try again."))
            status = 404
        else:
            response, error = _join(request, league, code)
            if response is not None:
                return response
            form.add_error("code", error.message)
            status = error.status_code
    elif request.method == "POST":
        status = 400
    return render(request, "leagues/join.html", {"form": form}, status=status)


@login_required
def league_invite_page(request, code: str):
    """An invitation link: the league and a join button. A code that names no league is 404."""
    try:
        league = selectors.league_get_for(
            user=request.user, league_id=selectors.league_by_code(join_code=code).pk, join_code=code
        )
    except LeagueNotFound as exc:
        raise Http404(exc.message) from exc
    error, status = None, 200
    if request.method == "POST":
        response, exc = _join(request, league, code)
        if response is not None:
            return response
        error, status = exc.message, exc.status_code
    today = selectors.today_kst()
    context = {
        "league": _with_status([league], today)[0],
        "code": league.join_code,
        "error": error,
        "is_full": league.member_count >= league.max_members,
    }
    return render(request, "leagues/invite.html", context, status=status)


# --- one league -------------------------------------------------------------------------------------------------


def _league_or_404(request, league_id: int) -> League:
    try:
        return selectors.league_get_for(user=request.user, league_id=league_id, join_code=request.GET.get("code"))
    except LeagueNotFound as exc:
        raise Http404(exc.message) from exc


def _standings_context(request, league: League) -> dict:
    standings = selectors.standings_page(league=league)
    page = Paginator(standings, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.public_name = selectors.public_name(row.user, fallback_number=row.member_number)
        row.is_me = row.user_id == request.user.pk
    return {"league": league, "page": page}


@login_required
def league_detail_page(request, league_id: int):
    league = _league_or_404(request, league_id)
    context = _standings_context(request, league)
    if wants_fragment(request):  # the standings' pager
        return render(request, "leagues/_standings.html", context)
    today = selectors.today_kst()
    mine = selectors.standing_of(league=league, user=request.user) if league.is_member else None
    leader = selectors.standings_page(league=league).filter(rank__isnull=False).first()
    if leader is not None and leader.user_id == request.user.pk:
        leader = None  # the viewer leads: their own line is the leader's
    me_name = None if mine is None else selectors.public_name(request.user, fallback_number=mine.member_number)
    context.update(
        league=_with_status([league], today)[0],
        mine=mine,
        me_name=me_name,
        has_nickname=mine is not None and selectors.nickname_of(mine.user) is not None,
        has_leader=leader is not None,
        is_owner=league.owner_id == request.user.pk,
        is_full=league.member_count >= league.max_members,
        ends_at=selectors.league_ends_at(league),
        invite_url=request.build_absolute_uri(reverse("league-invite", args=[league.join_code])),
        chart=curves.league_curves(
            league=league,
            me_id=request.user.pk if league.is_member else None,
            leader_id=leader.user_id if leader is not None else None,
        ),
    )
    return render(request, "leagues/detail.html", context)


@login_required
@require_POST
def league_join(request, league_id: int):
    """The join button of a public league's page (a private one is joined through its code)."""
    league = _league_or_404(request, league_id)
    response, error = _join(request, league, request.POST.get("code") or None)
    if response is not None:
        return response
    messages.error(request, error.message)
    return redirect("league-detail", league_id=league.pk)


@login_required
@require_POST
def league_leave(request, league_id: int):
    league = _league_or_404(request, league_id)
    try:
        services.league_leave(user=request.user, league_id=league.pk)
    except LeagueNotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("league-detail", league_id=league.pk)
    messages.success(request, _("You left %(league)s.") % {"league": league.name})
    return redirect("leagues")


# --- the public leaderboard and the profile ---------------------------------------------------------------------


def leaderboard_page(request):
    """Public: opted-in users under their nicknames, as last computed after the daily snapshot."""
    period = request.GET.get("period") if request.GET.get("period") in Period.values else Period.ALL  # as the API
    metric = request.GET.get("metric") if request.GET.get("metric") in Metric.values else Metric.RETURN
    entries = selectors.leaderboard(period=period, metric=metric)
    paginator = Paginator(entries, PAGE_SIZE)
    paginator.count = selectors.leaderboard_count(period=period, metric=metric)  # cached, not counted per view
    page = paginator.get_page(request.GET.get("page"))
    viewer = request.user.pk if request.user.is_authenticated else None
    for entry in page.object_list:
        entry.public_name = selectors.public_name(entry.user)
        entry.rank = entry.rank_by_sharpe if metric == Metric.SHARPE else entry.rank_by_return
        entry.is_me = entry.user_id == viewer
    first = page.object_list[0] if page.object_list else None
    context = {
        "period": period,
        "metric": metric,
        "periods": Period.choices,
        "metrics": Metric.choices,
        "page": page,
        "as_of": first.as_of if first else None,
        "computed_at": first.computed_at if first else None,
        "sharpe_min_days": SHARPE_MIN_DAYS,
    }
    if wants_fragment(request):
        return render(request, "leagues/_leaderboard.html", context)
    return render(request, "leagues/leaderboard.html", context)


@login_required
def profile_page(request):
    profile = selectors.profile_of(user=request.user)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            nickname = form.cleaned_data["nickname"].strip()
            try:
                services.profile_update(
                    user=request.user,
                    # an empty box leaves a profile without a nickname as it is; clearing a set one is refused
                    nickname=nickname if nickname or profile.nickname else None,
                    leaderboard_opt_in=form.cleaned_data["leaderboard_opt_in"],
                )
            except InvalidNickname as exc:
                for field, errors in exc.details.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            except NicknameTaken as exc:
                form.add_error("nickname", exc.message)
            else:
                if form.cleaned_data["leaderboard_opt_in"] and not profile.leaderboard_opt_in:
                    messages.success(
                        request,
                        _(
                            "Your public profile is saved. You will be on the leaderboard within about 10 minutes, "
                            "once your account has a day of history."
                        ),
                    )
                else:
                    messages.success(request, _("Your public profile is saved."))
                return redirect("profile")
        status = 400 if form.errors else 200
        return render(request, "leagues/profile.html", {"form": form, "profile": profile}, status=status)
    form = ProfileForm(initial={"nickname": profile.nickname or "", "leaderboard_opt_in": profile.leaderboard_opt_in})
    return render(request, "leagues/profile.html", {"form": form, "profile": profile})
