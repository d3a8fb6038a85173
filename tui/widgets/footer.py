"""A footer that is rebuilt only when what it shows has changed.

Textual's ``Footer`` removes and mounts all its keys again (a recompose and a layout pass) whenever
the screen's bindings may have changed, and every focus call says they may have, even when the
focus stays where it was. On the main screen that rebuild landed in the middle of a rating and
made the slowest keypress → pane times (12–30 ms of extra work at 120×40). Here the rebuild is
skipped when the keys, their descriptions and their enabled state are the same as shown.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class StableFooter(Footer):
    """``Footer`` without rebuilds that would show the same keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def shown(self) -> tuple:
        """What the footer would show now: (key, display, description, enabled) per shown key,
        and the palette key."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple((key, binding.key_display, binding.description, enabled)
                     for key, (_, binding, enabled, _) in self.screen.active_bindings.items()
                     if binding.show or key == palette)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        if not self.is_attached:
            return
        now = self.shown()
        if now != self._shown:
            self._shown = now
            await self.recompose()
