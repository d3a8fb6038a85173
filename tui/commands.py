"""Command palette provider: the same actions as the keys, plus model/index changes and export."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from recsys_tui.tui.preferences import LAYOUTS
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from recsys_tui.tui.app import RecsysApp

LAYOUT_HELP = {"auto": "Pane sizes follow the terminal size (saved)",
               "compact": "The 80×24 layout at any size (saved)",
               "wide": "Bigger lists and detail panes at any size (saved)"}


class RecsysCommands(Provider):
    """Switch user, change model (retrain), load the newest model, change index type, retrain,
    export, learning view, help."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = cast("RecsysApp", self.app)
        services = app.services
        out: list[tuple[str, Callable[[], object], str]] = [
            ("Switch user", app.command_switch_user, "Pick another MovieLens user or a new one"),
            ("Retrain now", partial(app.command_retrain, None),
             "Retrain the current model on data + your events, publish, swap live"),
            ("Load newest model", app.command_load_latest,
             "Switch to the version `recsys-tui train` published last (e.g. in another terminal)"),
            ("Export recommendations to CSV", app.command_export, "Write the current top-10 to reports/"),
            ("Learning view", app.command_learning, "Replay: watch HR@10 improve as models learn"),
            ("Save model as default", app.command_save_model,
             "Keep the model of this session for later launches (a palette model change is "
             "for this session only)"),
            ("Help: keys", app.action_help, "Keys by pane, and what the numbers mean"),
        ]
        for layout in LAYOUTS:
            out.append((f"Layout: {layout}", partial(app.command_layout, layout),
                        LAYOUT_HELP[layout]))
        for model in services.model_names():
            out.append((f"Change model: {model}", partial(app.command_retrain, model),
                        f"Train {model} in the background and switch to it for this session"))
        for kind in services.index_kinds():
            out.append((f"Change index type: {kind}", partial(app.command_index, kind),
                        f"Rebuild the item index as {kind}"))
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
