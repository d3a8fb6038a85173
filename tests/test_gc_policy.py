"""The serving processes' collector policy (api/gcwatch.py, the app's freeze_heap): the start-up
heap frozen, no automatic full collections, and middle collections that never walk more than about
three rounds of new objects (Python's default let the middle generation gather ten, then walked eleven)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import gc, json
from recsys_tui.api.gcwatch import serving_gc
serving_gc()
young = gc.get_threshold()[0]
walked = []
def watch(phase, info):
    if phase == "start" and info["generation"] == 1:
        walked.append(len(gc.get_objects(0)) + len(gc.get_objects(1)))
gc.callbacks.append(watch)
kept = []
for n in range(60_000):  # survivors, as the views and reasons of many users are
    kept.append([n])
gc.callbacks.remove(watch)
print(json.dumps({"young": young, "walked": walked, "thresholds": gc.get_threshold(),
                  "frozen": gc.get_freeze_count()}))
"""


def test_middle_collections_walk_about_three_rounds_of_survivors_and_full_ones_wait():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert len(seen["walked"]) >= 20  # 60,000 survivors: many middle collections
    assert max(seen["walked"]) <= 4 * seen["young"]  # Python's default: ~11 × young
    assert seen["thresholds"][2] > 10**6 and seen["frozen"] > 1000


def test_the_app_collects_the_middle_generation_as_often_as_the_api():
    from recsys_tui.api.gcwatch import SERVING_MIDDLE
    from recsys_tui.tui.app import GC_THRESHOLDS

    assert GC_THRESHOLDS[1] == SERVING_MIDDLE
