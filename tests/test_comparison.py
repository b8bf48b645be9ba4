"""How two refreshes' stored results are compared (graph.comparison): equal within the
tolerances, and each kind of difference counted."""

from __future__ import annotations

import json
from dataclasses import replace

from graph.comparison import Stored, agree, differences


def finding(strength: float, signal: str = "RING") -> dict:
    return {"signal": signal, "strength": strength, "explanation": "a ring of three",
            "involved": ["pro_b", "pro_a"]}


BASE = Stored(
    reputations={"pro_a": 0.25, "pro_b": 0.75},
    pairs={"plumber|tiler": {"key": "plumber|tiler", "customers": 3, "lift": 1.5,
                             "score": 0.4}},
    candidates={"plumber|area": {"key": "plumber|area", "ids": ["pro_b", "pro_a"],
                                 "reputations": [0.75, 0.25], "more": False}},
    risk={"pro_a": {"id": "pro_a", "score": 0.6, "findings": json.dumps([finding(0.6)])}},
)


def test_equal_results_agree_and_small_gaps_stay_within_the_tolerances():
    assert agree(differences(BASE, BASE))
    close = replace(BASE, reputations={"pro_a": 0.25 + 1e-8, "pro_b": 0.75},
                    risk={"pro_a": {"id": "pro_a", "score": 0.6, "findings": json.dumps(
                        [{**finding(0.6), "explanation": "worded otherwise",
                          "involved": ["pro_a", "pro_b"]}])}})
    found = differences(BASE, close)
    assert agree(found) and found["largest reputation gap"] <= 1e-6


def test_each_kind_of_difference_is_counted():
    cases = {
        "largest reputation gap": replace(BASE, reputations={"pro_a": 0.25001, "pro_b": 0.75}),
        "reputations missing on one side": replace(BASE, reputations={"pro_a": 0.25}),
        "trade pairs that differ": replace(BASE, pairs={"plumber|tiler": {
            **BASE.pairs["plumber|tiler"], "lift": 1.5000001}}),
        "candidate lists that differ": replace(BASE, candidates={"plumber|area": {
            **BASE.candidates["plumber|area"], "ids": ["pro_a", "pro_b"]}}),
        "risk assessments that differ": replace(BASE, risk={"pro_a": {
            "id": "pro_a", "score": 0.6, "findings": json.dumps([finding(0.61)])}}),
    }
    for field, other in cases.items():
        found = differences(BASE, other)
        assert not agree(found), field
        assert found[field] > 0, field
