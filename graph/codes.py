"""Referral codes: a shareable code that stands for (referrer, professional).

A code is drawn from ``secrets`` (never a counter), so it cannot be guessed from another one;
it is stored upper-case and every lookup normalises its input the same way, so codes are
case-insensitive. One code per (referrer, professional): asking again returns it, and the unique
``pair`` key makes concurrent asks end with one code. Redeeming a code creates the referral
through :func:`graph.referrals.create_referral`, so every referral rule holds, with channel CODE.
"""

from __future__ import annotations

import secrets

from graph import referrals, timeutil
from graph.access import Principal
from graph.errors import NotFound, SelfReferral, ValidationError
from graph.ids import check_id, kind_of
from graph.models import Referral, ReferralCode
from graph.store import ConstraintError, Store, Tx

# No 0/O, 1/I/L or U: a code read aloud or copied by hand survives. 30 symbols ** 12 is about
# 2 ** 59 codes: guessing one that exists is hopeless at any rate the lookups allow.
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 12
# What a lookup accepts before it asks the store; anything else is no code.
MIN_LENGTH = 8
MAX_LENGTH = 32
# A lost race re-reads the winner; if it is not visible yet, the create runs again.
ATTEMPTS = 3
NO_CODE = "no referral code like this"

CODE_MAP = """k {.code, .createdAt,
  referrerId: head([(k)<-[:SHARES]-(a) | a.id]),
  professionalId: head([(k)-[:LEADS_TO]->(p:Professional) | p.id]),
  uses: size([(k)<-[:VIA]-(x:Referral) WHERE x.fraud IS NULL | 1])}"""

CODE_BY_PAIR = f"MATCH (k:ReferralCode {{pair: $pair}}) RETURN {CODE_MAP} AS row"
# The code of an erased referrer leads nowhere: it recommends nobody any more.
CODE_BY_CODE = f"""
MATCH (k:ReferralCode {{code: $code}})
WHERE size([(k)<-[:SHARES]-(a) WHERE a.erased IS NULL | 1]) > 0
RETURN {CODE_MAP} AS row
"""

_PARTIES = """
OPTIONAL MATCH (a:{label} {{id: $referrerId}})
OPTIONAL MATCH (p:Professional {{id: $professionalId}})
RETURN a IS NOT NULL AND a.erased IS NULL AS referrer, p IS NOT NULL AS professional
"""
PARTIES = {label: _PARTIES.format(label=label) for label in ("Customer", "Professional")}

_CREATE = """
MATCH (a:{label} {{id: $referrerId}}), (p:Professional {{id: $professionalId}})
CREATE (a)-[:SHARES]->(k:ReferralCode {{code: $code, pair: $pair, createdAt: $now}})
CREATE (k)-[:LEADS_TO]->(p)
"""
CREATE = {label: _CREATE.format(label=label) for label in ("Customer", "Professional")}


class _LostRace(Exception):
    """The read-back did not find the code: a concurrent ask won the pair."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str | None:
    """The stored form of ``code`` (trimmed, upper-case, without hyphens), or None when it
    cannot be a code at all."""
    cleaned = code.strip().replace("-", "").upper()
    if not MIN_LENGTH <= len(cleaned) <= MAX_LENGTH or not cleaned.isascii() \
            or not cleaned.isalnum():
        return None
    return cleaned


async def create_code(store: Store, referrer_id: str, professional_id: str) -> ReferralCode:
    """The referrer's code for the professional, created on the first ask."""
    label = kind_of(referrer_id)
    if label not in ("Customer", "Professional"):
        raise ValidationError(
            f"{referrer_id!r} is neither a Customer nor a Professional id", ["input", "referrerId"]
        )
    check_id(professional_id, "Professional", ["input", "professionalId"])
    if referrer_id == professional_id:
        raise SelfReferral("a professional cannot refer itself", ["input", "professionalId"])
    pair = f"{referrer_id}|{professional_id}"
    ids = {"referrerId": referrer_id, "professionalId": professional_id}

    async def create(tx: Tx) -> ReferralCode:
        parties = await tx.one(PARTIES[label], **ids)
        assert parties is not None
        for role, field in (("referrer", "referrerId"), ("professional", "professionalId")):
            if not parties[role]:
                raise NotFound(f"no {role} with this id", ["input", field])
        existing = await tx.one(CODE_BY_PAIR, pair=pair)
        if existing is None:
            await tx.run(CREATE[label], code=new_code(), pair=pair,
                         now=timeutil.to_store(timeutil.now()), **ids)
            existing = await tx.one(CODE_BY_PAIR, pair=pair)
        if existing is None:
            # The embedded store hides a node a concurrent winner committed first.
            raise _LostRace()
        return ReferralCode.from_row(existing["row"])

    for _ in range(ATTEMPTS - 1):
        try:
            return await store.write(create)
        except (ConstraintError, _LostRace):
            continue  # a concurrent ask won: the next round reads its code
    return await store.write(create)


async def lookup(store: Store, code: str) -> ReferralCode | None:
    """The code (in any case), or None: an unknown and a malformed code look the same."""
    normal = normalise(code)
    # A malformed code still asks the store, so that it costs what a known one does.
    rows = await store.read(CODE_BY_CODE, code=normal or "")
    return ReferralCode.from_row(rows[0]["row"]) if rows else None


async def redeem(
    store: Store, code: str, referee_id: str, note: str | None, viewer: Principal | None = None
) -> Referral:
    """The referral from the code's referrer to ``referee_id`` for the code's professional."""
    if normalise(code) is None:
        raise ValidationError(
            f"a referral code has {MIN_LENGTH} to {MAX_LENGTH} letters and digits",
            ["input", "code"],
        )
    check_id(referee_id, "Customer", ["input", "refereeId"])
    found = await lookup(store, code)
    if found is None:
        raise NotFound(NO_CODE, ["input", "code"])
    try:
        return await referrals.create_referral(store, referrals.NewReferral(
            referrer_id=found.referrer_id, professional_id=found.professional_id,
            referee_id=referee_id, note=note, code=found.code,
        ), viewer)
    except NotFound as exc:
        # The code's own parties are no input here: a referrer erased meanwhile makes the code
        # one that leads nowhere.
        if exc.field in (["input", "referrerId"], ["input", "professionalId"]):
            raise NotFound(NO_CODE, ["input", "code"]) from None
        raise
