"""Assemble the one Schema from the per-concept Query and Mutation classes."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from schema.codes import CodeMutation, CodeQuery
from schema.common import DeletePayload
from schema.cost import DocumentSize, QueryCost
from schema.customer import Customer, CustomerMutation, CustomerQuery
from schema.deadline import DeadlineExecutor
from schema.errors import ErrorMasking, LoggingSchema
from schema.events import Subscription
from schema.guards import ArgumentLimits, AuthGate, LimitSettings, Transport, argument_limits
from schema.integrity import IntegrityMutation, IntegrityQuery
from schema.job import Job, JobMutation
from schema.measurement import MeasurementQuery
from schema.network import MembershipStatus, Network, NetworkMutation, NetworkQuery
from schema.node import NodeQuery
from schema.partners import PartnersMutation
from schema.professional import Professional, ProfessionalMutation, ProfessionalQuery
from schema.programs import ProgramMutation
from schema.referral import Referral, ReferralMutation, ReferralQuery
from schema.rewards import RewardMutation
from schema.suggestions import HideSuggestions
from schema.trust import TrustQuery
from schema.webhooks import WebhookMutation, WebhookQuery

SNAPSHOT = Path(__file__).with_name("schema.graphql")
CACHED_DOCUMENTS = 512

Query = merge_types(
    "Query",
    (NodeQuery, ProfessionalQuery, CustomerQuery, ReferralQuery, NetworkQuery, TrustQuery,
     IntegrityQuery, CodeQuery, MeasurementQuery, WebhookQuery),
)
Mutation = merge_types(
    "Mutation",
    (ProfessionalMutation, CustomerMutation, JobMutation, ReferralMutation, NetworkMutation,
     PartnersMutation, IntegrityMutation, CodeMutation, ProgramMutation, RewardMutation,
     WebhookMutation),
)


class SchemaSettings(LimitSettings, Protocol):
    """The settings the schema reads; the service passes its own frozen settings down."""

    @property
    def max_depth(self) -> int: ...

    @property
    def max_aliases(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def max_cost(self) -> int: ...

    @property
    def max_document_chars(self) -> int: ...

    @property
    def production(self) -> bool: ...


def build_schema(settings: SchemaSettings) -> strawberry.Schema:
    limits = argument_limits(settings)
    # The depth and alias rules are built once: a rule class made per request would never
    # hit the validation cache, whose key includes the rules.
    rules = tuple(
        QueryDepthLimiter(max_depth=settings.max_depth).validation_rules
        + MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules
    )
    extensions: list = [
        # Before the parser cache and the token limit: both would read the whole document.
        lambda: DocumentSize(max_chars=settings.max_document_chars),
        # Frontends send the same documents again and again: parse and validate each once.
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(list(rules)),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        AuthGate,
        Transport,
        lambda: ArgumentLimits(limits=limits),
        lambda: QueryCost(max_cost=settings.max_cost),
        ErrorMasking,
        lambda: HideSuggestions(always=settings.production),
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    return LoggingSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Professional, Customer, Job, Referral, Network, DeletePayload, MembershipStatus],
        extensions=extensions,
        execution_context_class=DeadlineExecutor,
    )


def sdl(settings: SchemaSettings) -> str:
    """The served schema as SDL (the same whatever the settings' limits)."""
    return build_schema(settings).as_str() + "\n"
