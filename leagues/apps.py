from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeaguesConfig(AppConfig):
    name = "leagues"
    verbose_name = _("Leagues")

    def ready(self):
        # portfolio's hook (portfolio never imports leagues): standings follow each daily snapshot.
        from leagues import tasks
        from portfolio import hooks

        hooks.snapshots_taken.append(lambda: tasks.compute_standings_after_snapshot.delay())
