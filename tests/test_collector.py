"""The collector settings a service process starts with (app.collector)."""

from __future__ import annotations

import gc

from app import collector


def test_tune_freezes_what_start_up_made_and_collects_the_young_less_often() -> None:
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        survivor = [object() for _ in range(10)]
        collector.tune()
        assert gc.get_freeze_count() >= len(survivor)
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
