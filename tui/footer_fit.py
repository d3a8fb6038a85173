"""Keep the footer's most important keys on screen at any width (80 columns included).

Textual's ``Footer`` lays the shown bindings out in one row and cuts what does not fit, so at 80
columns the keys at the end (user switch, quit) were lost. A screen lists its bindings' ids from
most to least important; ``fit_footer`` hides the least important from the footer (only from the
footer: the keys keep working, and F1 help lists every key) until the rest fit.
"""

from __future__ import annotations

import dataclasses

from rich.cells import cell_len
from textual.binding import Binding
from textual.screen import Screen

PALETTE_CELLS = 12
"""The footer's right-hand "▏^p palette" (11 cells) and one of margin."""


def key_cells(binding: Binding, key_display: str) -> int:
    """Cells one compact footer key takes: key, a space, description, a gap."""
    return cell_len(key_display) + 1 + cell_len(binding.description) + 1


def fit_footer(screen: Screen, ranked: tuple[str, ...], always: int, width: int) -> list[str]:
    """Show the bindings of ``ranked`` (ids, most important first) that fit in ``width`` cells
    beside ``always`` cells of keys shown anyway (the app's); returns the ids hidden."""
    room = width - PALETTE_CELLS - always
    by_id: dict[str, tuple[str, Binding]] = {}
    for key, bindings in screen._bindings.key_to_bindings.items():  # the screen's own copy
        for binding in bindings:
            if binding.id:
                by_id[binding.id] = (key, binding)
    hidden: list[str] = []
    for binding_id in ranked:
        key, binding = by_id[binding_id]
        display = binding.key_display or screen.app.get_key_display(binding)
        cells = key_cells(binding, display)
        show = cells <= room
        room -= cells if show else 0
        if not show:
            hidden.append(binding_id)
        if binding.show != show:
            _replace(screen, key, binding, dataclasses.replace(binding, show=show))
    screen.refresh_bindings()
    return hidden


def _replace(screen: Screen, key: str, old: Binding, new: Binding) -> None:
    bindings = screen._bindings.key_to_bindings[key]
    screen._bindings.key_to_bindings[key] = [new if b is old else b for b in bindings]
