"""Untrusted titles in the app: markup, Textual actions and escape sequences are shown, never obeyed.

Needs the inert table cells of the catalogue and recommendation widgets (branch wp-tui-why): on this
branch alone the DataTable cells still parse titles as markup.
"""

from __future__ import annotations

import json

import pytest
from recsys_tui.tui.app import RecsysApp

from recsys_tui.app_factory import make_app
from tests.events import logged
from tests.tui_helpers import drive, settle

pytestmark = pytest.mark.tui


HOSTILE = {
    1: "[@click=app.quit]Toy Story[/] (1995)",
    50: "Star Wars [/] [$x] (1977)",
    100: "\x1b[2JFargo\x1b]52;c;SGVsbG8=\x07 (1996)",
    181: "[link=file:///etc/passwd]Return of the Jedi[/link] (1983)",
    258: "[bold red]Contact[/] \u202e\x9b (1997)",
    286: "[@click=screen.rate(1)]English Patient, The[/] (1996)",
}
"""Titles that carry markup, Textual actions (quit, a 1★ rating), escape sequences and controls."""


def hostile_home(home):
    """Rewrite a few titles in the home's dataset cache (the manifest's hashes follow)."""
    from recsys_tui.common.fsutil import sha256_file
    from recsys_tui.data.cache import cache_dir

    folder = cache_dir(home.data)
    movies = json.loads((folder / "movies.json").read_text())
    for movie in movies:
        if movie["item_id"] in HOSTILE:
            movie["title"] = HOSTILE[movie["item_id"]]
    (folder / "movies.json").write_text(json.dumps(movies, ensure_ascii=False))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"]["movies.json"] = sha256_file(folder / "movies.json")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return home


CONTROL = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0), 0x202E]}


def test_titles_with_markup_actions_and_escapes_are_shown_never_obeyed(home):
    hostile_home(home)
    app = make_app(home)

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        app.main.query_one("#search").focus()
        await pilot.press(*"[/]")  # typed markup in the search box
        await settle(app, pilot)
        assert app.is_running and app.errors == []
        n0 = logged(home)
        for item, title in HOSTILE.items():
            rows = await app.search(title.split("]")[-1][:4] if "]" in title else "Fargo")
            await app.select(item)
            await settle(app, pilot)
            if app.main.catalogue.selected_item() == item:  # the first row: click its title cell
                await pilot.click("#catalogue-table", offset=(3, 1))  # (row 0 under the header)
                await settle(app, pilot)
            assert app.is_running, f"a click on {title!r} quit the app"
            svg = app.export_screenshot()
            assert not CONTROL & set(svg), f"a control character of {title!r} reached the screen"
            assert rows is not None
        assert logged(home) == n0 + 0, "a click on a title logged an event (only Enter views)"
        sims = await app.similar()
        assert sims is not None and app.errors == []
        await pilot.press("1")  # an honest rating of whatever is highlighted, for the profile pane
        await settle(app, pilot)
        svg = app.export_screenshot()
        assert not CONTROL & set(svg) and app.is_running and app.errors == []
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("escape", "f6")  # learning view and back: titles are not shown there
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()

    drive(app, body, (120, 40))
    assert app.crash is None and app.return_code in (0, None)
