"""Reviews of referrals: a reviewer's decision, CLEARED or CONFIRMED_FRAUD, audited.

Stored on the ``Referral`` node: ``reviewDecision``, ``reviewNote``, ``reviewAt``, ``reviewBy``
(the reviewer's principal) and ``reviewHistory`` (JSON: the earlier decisions, oldest first).
``fraud`` is true exactly while the decision is CONFIRMED_FRAUD and absent otherwise: every
query that counts referrals (trust, reputation, co-hiring, reciprocity, gaps, partners) filters
``WHERE r.fraud IS NULL``, the one spelling everywhere. A confirmed-fraud referral also gives up
its ``openKey``, so it no longer blocks a new referral for the same three parties (DUPLICATE).

A decision asks the analytics refresh to run soon (``Store.want_refresh``), so that reputation
and co-hiring leave the referral out without waiting for the next scheduled refresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graph import rewards, rules, timeutil
from graph.errors import Conflict, Forbidden, NotFound
from graph.ids import check_id
from graph.models import OPEN_STATUSES, Referral, ReferralStatus, ReviewDecision
from graph.referrals import CLAIM, OPEN_REFERRAL, REFERRAL_BY_ID, open_key
from graph.store import ConstraintError, Row, Store, Tx

REVIEW_STATE = """
MATCH (x:Referral {id: $id})
RETURN x.reviewDecision AS decision, x.reviewNote AS note, x.reviewAt AS at,
       x.reviewBy AS by, x.reviewHistory AS history, x.status AS status,
       x.openKey IS NOT NULL AS open
"""
# Optimistic: the decision applies only if nobody reviewed the referral since it was read.
SET_REVIEW = """
MATCH (x:Referral {id: $id})
WHERE coalesce(x.reviewAt, '') = $seen
SET x.reviewDecision = $decision, x.reviewNote = $note, x.reviewAt = $now, x.reviewBy = $by,
    x.reviewHistory = $history
RETURN count(x) AS changed
"""
MARK_FRAUD = "MATCH (x:Referral {id: $id}) SET x.fraud = true REMOVE x.openKey"
UNMARK_FRAUD = "MATCH (x:Referral {id: $id}) REMOVE x.fraud"
REOPEN = "MATCH (x:Referral {id: $id}) SET x.openKey = $openKey"


@dataclass(frozen=True)
class Reviewer:
    """Who decides: ``by`` goes into the audit trail; ``admin`` may change anyone's decision,
    others only their own, known by their token's subject (``sub``): organisers without one
    share the role's name in the trail and so can tell no decision as their own."""

    by: str
    admin: bool
    sub: str | None = None

    def may_change(self, by: str | None) -> bool:
        return self.admin or (self.sub is not None and by == self.sub)


def _history(row: Row) -> list[dict[str, Any]]:
    text = row.get("history")
    earlier = json.loads(text) if isinstance(text, str) else []
    return earlier if isinstance(earlier, list) else []


async def review_referral(
    store: Store, referral_id: str, decision: ReviewDecision, note: str | None,
    reviewer: Reviewer,
) -> Referral:
    """Record ``decision`` on the referral. Repeating the current decision with the same note
    changes nothing; changing it keeps the previous one in the history. Only an admin changes a
    decision someone else made (an organiser may revise its own)."""
    check_id(referral_id, "Referral", ["input", "id"])
    decision = ReviewDecision(decision)
    cleaned = rules.clean_note(note, ["input", "note"])
    changed_fraud = False

    async def work(tx: Tx) -> Referral:
        nonlocal changed_fraud
        state = await tx.one(REVIEW_STATE, id=referral_id)
        if state is None:
            raise NotFound("no referral with this id", ["input", "id"])
        current = state["decision"]
        if current is not None and (current, state["note"]) == (decision.value, cleaned):
            return await _read(tx, referral_id)
        if current is not None and not reviewer.may_change(state["by"]):
            raise Forbidden("only an admin may change a decision made by someone else",
                            ["input", "decision"])
        history = _history(state)
        if current is not None:
            history.append({"decision": current, "note": state["note"], "at": state["at"],
                            "by": state["by"]})
        now = timeutil.to_store(timeutil.now())
        # The n-th decision claims its unique key: of two concurrent decisions from the same
        # state the store lets one commit (the embedded store would otherwise commit both).
        await tx.run(CLAIM, id=referral_id, keys=[f"{referral_id}|review|{len(history)}"],
                     now=now)
        done = await tx.one(SET_REVIEW, id=referral_id, seen=state["at"] or "",
                            decision=decision.value, note=cleaned, now=now, by=reviewer.by,
                            history=json.dumps(history))
        if not done or done["changed"] != 1:
            raise Conflict("the referral was reviewed meanwhile; read it again",
                           ["input", "id"])
        was_fraud = current == ReviewDecision.CONFIRMED_FRAUD.value
        if decision is ReviewDecision.CONFIRMED_FRAUD and not was_fraud:
            await tx.run(MARK_FRAUD, id=referral_id)
            changed_fraud = True
        elif decision is ReviewDecision.CLEARED and was_fraud:
            await tx.run(UNMARK_FRAUD, id=referral_id)
            await _reopen(tx, referral_id, state)
            changed_fraud = True
        # Its rewards follow in the same transaction: voided (or marked for clawback) on
        # fraud, released from HELD on clearing.
        await rewards.on_review(tx, referral_id,
                                decision is ReviewDecision.CONFIRMED_FRAUD, reviewer.by)
        return await _read(tx, referral_id)

    try:
        referral = await store.write(work)
    except ConstraintError:
        raise Conflict("the referral changed meanwhile; read it again", ["input", "id"]) from None
    if changed_fraud:
        store.want_refresh()
    return referral


async def _reopen(tx: Tx, referral_id: str, state: Row) -> None:
    """A cleared referral that is still open blocks duplicates again, unless a new referral
    for the same three parties was made while it counted as fraud: that one keeps the key."""
    if ReferralStatus(state["status"]) not in OPEN_STATUSES:
        return
    referral = await _read(tx, referral_id)
    key = open_key(referral.referrer_id, referral.professional_id, referral.referee_id)
    if await tx.one(OPEN_REFERRAL, openKey=key) is None:
        await tx.run(REOPEN, id=referral_id, openKey=key)


async def _read(tx: Tx, referral_id: str) -> Referral:
    row = await tx.one(REFERRAL_BY_ID, id=referral_id)
    assert row is not None
    return Referral.from_row(row["row"])
