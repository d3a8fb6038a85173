"""The plain-text language of ``recsys-tui demo``: one action a line, parsed before anything runs.

Blank lines and lines starting with ``#`` are ignored; other lines may end in a ``# comment``,
except ``search`` and ``expect-reason``, which take the rest of the line verbatim.

| action | does |
|---|---|
| ``login ID`` / ``login new`` | log in as a MovieLens user, or create a cold-start user |
| ``search TEXT`` / ``genre NAME`` | type into the catalogue search / set the genre filter (``all`` clears) |
| ``select ITEM`` | select a movie by item id |
| ``rate N`` / ``click`` / ``similar`` / ``undo`` | press 1-5 / ``c`` / ``m`` / undo on the selected movie |
| ``rate-top COUNT [STARS]`` | COUNT times: select the top recommendation and rate it (a latency sample) |
| ``retrain`` / ``wait`` | retrain in the background / wait for the app's workers |
| ``help`` / ``learning`` | open the help screen / the learning view |
| ``press KEY`` / ``screenshot PATH`` | press any bound key / save an SVG screenshot |
| ``expect-changed`` | the last interaction changed the recommendation list |
| ``expect-excluded`` | the rated movie is not in the list |
| ``expect-personal`` / ``expect-cold`` | the list is personal / popularity (cold start) |
| ``expect-degraded`` / ``expect-new-version`` | the store is degraded / a retrain published a new version |
| ``expect-reason TEXT`` | some reason contains TEXT |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recsys_tui.common.errors import RecsysError

MAX_SCRIPT_BYTES = 1_000_000
MAX_ITEM = 1_000_000_000
MAX_REPEAT = 10_000


class DemoScriptError(RecsysError):
    """A demo script line that cannot be run; the message names the line."""


@dataclass(frozen=True)
class Action:
    """One parsed script line."""

    line: int
    verb: str
    args: tuple = ()

    def __str__(self) -> str:
        return " ".join([self.verb, *map(str, self.args)])


NO_ARGS = {"click", "similar", "undo", "retrain", "help", "wait", "learning",
           "expect-changed", "expect-excluded", "expect-personal", "expect-cold",
           "expect-degraded", "expect-new-version"}
TEXT_ARG = {"search", "genre", "screenshot", "press", "expect-reason"}
VERBS = NO_ARGS | TEXT_ARG | {"login", "select", "rate", "rate-top"}


def _int(line: int, verb: str, text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DemoScriptError(f"line {line}: {verb} needs {what}, got {text!r}") from None
    if not low <= value <= high:
        raise DemoScriptError(f"line {line}: {verb} needs {what} ({low}–{high}), got {value}")
    return value


def parse_line(number: int, raw: str) -> Action | None:
    """One line → an Action (None for blank/comment lines); DemoScriptError when malformed."""
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    if not text.lower().startswith(("search", "expect-reason")):
        text = text.split("#", 1)[0].strip()
    if "\x00" in text:
        raise DemoScriptError(f"line {number}: contains a NUL byte")
    verb, _, rest = text.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb not in VERBS:
        raise DemoScriptError(f"line {number}: unknown action {verb[:40]!r} "
                              f"(known: {', '.join(sorted(VERBS))})")
    if verb in NO_ARGS:
        if rest:
            raise DemoScriptError(f"line {number}: {verb} takes no argument")
        return Action(number, verb)
    if verb in TEXT_ARG:
        if verb != "search" and not rest:
            raise DemoScriptError(f"line {number}: {verb} needs an argument")
        if len(rest) > 200:
            raise DemoScriptError(f"line {number}: {verb} argument longer than 200 characters")
        return Action(number, verb, (rest,))
    parts = rest.split()
    if verb == "login":
        if len(parts) != 1:
            raise DemoScriptError(f"line {number}: login needs one user id or 'new'")
        if parts[0].lower() == "new":
            return Action(number, verb, ("new",))
        return Action(number, verb, (_int(number, verb, parts[0], 1, MAX_ITEM, "a user id"),))
    if verb == "select":
        if len(parts) != 1:
            raise DemoScriptError(f"line {number}: select needs one item id")
        return Action(number, verb, (_int(number, verb, parts[0], 1, MAX_ITEM, "an item id"),))
    if verb == "rate":
        if len(parts) != 1:
            raise DemoScriptError(f"line {number}: rate needs one star value 1–5")
        return Action(number, verb, (_int(number, verb, parts[0], 1, 5, "a whole star value"),))
    # rate-top N [STARS]
    if len(parts) not in (1, 2):
        raise DemoScriptError(f"line {number}: rate-top needs a count and optionally stars")
    count = _int(number, verb, parts[0], 1, MAX_REPEAT, "a count")
    stars = _int(number, verb, parts[1], 1, 5, "a whole star value") if len(parts) == 2 else 4
    return Action(number, verb, (count, stars))


def parse_script(text: str) -> list[Action]:
    """The whole script → actions; raises DemoScriptError naming the first bad line."""
    actions = [a for n, raw in enumerate(text.splitlines(), 1) if (a := parse_line(n, raw)) is not None]
    if not actions:
        raise DemoScriptError("the demo script has no actions")
    return actions


def read_script(path: Path) -> list[Action]:
    """Read and parse the whole script before anything runs."""
    try:
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise DemoScriptError(f"{path}: script larger than {MAX_SCRIPT_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DemoScriptError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise DemoScriptError(f"cannot read script {path}: {exc.strerror or exc}") from None
    return parse_script(text)
