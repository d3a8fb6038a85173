"""The main screen's longer actions: retrain, load the newest model, change the index, export,
and the screens they open (switch user, learning view).

Long work runs in daemon threads (``tui.background``) that check the app's stop flag before each
stage, so quitting never waits for them and nothing is published after the app has gone.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from recsys_tui.common.fsutil import atomic_write_bytes
from recsys_tui.core.results import RecList, rank_changes
from recsys_tui.tui.background import Cancelled, in_daemon
from recsys_tui.tui.messages import Exported, RecsReady, RetrainDone, RetrainProgress
from recsys_tui.tui.screens.main_base import K, MainBase
from textual import work
from textual.worker import get_current_worker


class BackgroundWork(MainBase):
    """Retrain (ctrl+r, palette), load latest, index change, export (F7), user switch, learning."""

    def action_switch_user(self) -> None:
        from recsys_tui.tui.screens.login import LoginScreen

        if not self.app._exit:
            self.app.push_screen(LoginScreen(switching=True))

    def action_learning(self) -> None:
        from recsys_tui.tui.screens.learning import LearningScreen

        if not self.app._exit:
            self.app.push_screen(LearningScreen())

    def action_retrain(self) -> None:
        """ctrl+r: retrain the current model, after a confirmation (it takes seconds and publishes)."""
        from recsys_tui.tui.screens.pickers import Confirm

        if self.app._exit or self._model_busy():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_retrain(None)

        self.app.push_screen(Confirm("Retrain the current model on the data set and every event logged "
                                     "here, publish it and switch to it? It runs in the background.",
                                     yes="Retrain"), answered)

    def start_retrain(self, model: str | None) -> None:
        """Retrain ``model`` (None: the current one) in the background; a model chosen in the
        palette stays in this session unless saved (palette: "Save model as default")."""
        if self.app.services.retrain is None:
            self.app.notify("Retraining is not available here.", severity="warning")
            return
        if self.user_id is None or self._model_busy():
            return
        self.refresh_status(busy=f"retraining {model or 'current model'}: starting")
        self.retrain(model, self.user_id)

    def _model_busy(self) -> bool:
        if any(w.group in ("retrain", "index") and not w.is_finished for w in self.app.workers):
            self.app.notify("A retrain is already running; the new model swaps in when it is ready.",
                            severity="warning")
            return True
        return False

    @work(exit_on_error=False, exclusive=True, group="retrain")
    async def retrain(self, model: str | None, user: int) -> None:
        """Runs in a daemon thread (``tui.background``): quitting never waits for it, and it checks
        the stop flag before every stage, so it never publishes after the app has gone."""
        worker = get_current_worker()
        stop = self.app.stop
        retrain = self.app.services.retrain
        assert retrain is not None  # start_retrain checked

        def step(stage: str) -> None:
            if stop.is_set or worker.is_cancelled:
                raise Cancelled
            self.post_message(RetrainProgress(stage))

        def run() -> None:
            version = retrain(step, model, model is None)
            step(f"loading {version}")
            self._swap_in(version, user, model)

        await in_daemon(stop, "retrain", run)

    def action_load_latest(self) -> None:
        """Load the newest published version (e.g. from `recsys-tui train` in another terminal)."""
        if self.user_id is None or self._model_busy():
            return
        self.refresh_status(busy="loading the newest published model")
        self.load_latest(self.user_id)

    @work(exit_on_error=False, exclusive=True, group="retrain")
    async def load_latest(self, user: int) -> None:
        await in_daemon(self.app.stop, "reload", self._swap_in, None, user, None)

    def _swap_in(self, version: str | None, user: int, model: str | None) -> None:
        """(thread) Load ``version`` (None: the current one), re-fold users, post the new list."""
        version, refolded = self.engine.reload(version)
        recs = self.engine.recommend(user, K)
        self.post_message(RetrainDone(version, refolded, recs, self.engine.profile(user), model))

    def on_retrain_progress(self, message: RetrainProgress) -> None:
        self.refresh_status(busy=f"retraining: {message.stage}…")

    def on_retrain_done(self, message: RetrainDone) -> None:
        old: RecList | None = self.recs.recs
        if message.recs.user_id == self.user_id:
            self.recs.show(message.recs, rank_changes(old, message.recs), f"retrained {message.version}")
            self.profile_pane.show(message.profile, self.app.user_summary(self.user_id))
            self.app.last_recs = message.recs
        self.refresh_status(busy="")
        session = ""
        default = self.app.services.default_version()
        if message.model is not None and self.engine.version != default:
            self.app.session_model = message.version
            session = " For this session only: palette → “Save model as default” keeps it."
        self.app.notify(f"Model {message.version} is live ({message.refolded} users re-folded).{session}",
                        title="retrained")
        self.finished("retrain", message.version)

    def change_index(self, kind: str) -> None:
        if self._model_busy():
            return
        self.refresh_status(busy=f"building {kind} index")
        self.set_index(kind)

    @work(exit_on_error=False, exclusive=True, group="index")
    async def set_index(self, kind: str) -> None:
        user = self.user_id
        assert user is not None  # the main screen has a user

        def run() -> None:
            self.engine.set_index(kind)
            recs = self.engine.recommend(user, K)
            self.post_message(RecsReady(recs, self.engine.profile(user), f"index {kind}"))

        await in_daemon(self.app.stop, "index", run)

    def action_export(self) -> None:
        self.export()

    @work(thread=True, exit_on_error=False, exclusive=True, group="export")
    def export(self) -> None:
        user = self.user_id
        assert user is not None  # the main screen has a user
        recs = self.engine.recommend(user, K)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["user_id", "rank", "item_id", "title", "score", "reason", "model_version"])
        for r in recs.items:
            writer.writerow([user, r.rank, r.item_id, r.title, f"{r.score:.6f}", r.reason,
                             recs.model_version])
        reports = self.engine.home.reports
        reports.mkdir(parents=True, exist_ok=True)
        path = reports / f"recs-user{user}-{datetime.now().strftime('%Y%m%dT%H%M%S%f')}.csv"
        atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
        self.post_message(Exported(str(path), len(recs.items)))

    def on_exported(self, message: Exported) -> None:
        self.app.notify(f"Wrote {message.rows} recommendations to {message.path}", title="exported")
        self.finished("export", message.path)
