"""Referral events: the kinds of change an event reports (subscriptions and webhooks)."""

from __future__ import annotations

import strawberry

from graph.events import EventKind

ReferralEventKind = strawberry.enum(EventKind, name="ReferralEventKind")
