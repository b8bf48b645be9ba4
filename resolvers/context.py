"""The per-request context handed to every resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from strawberry.types import Info as StrawberryInfo

from graph.access import Principal
from graph.analytics import AnalyticsEngine, Curated
from graph.store import Store
from graph.webhooks import Config as WebhookConfig
from resolvers.loaders import Loaders


class ResolverSettings(Protocol):
    """The settings resolvers read; the service passes its own frozen settings down."""

    @property
    def max_first(self) -> int: ...

    @property
    def analytics_timeout(self) -> float: ...

    @property
    def subscription_backlog(self) -> int: ...

    @property
    def engine(self) -> AnalyticsEngine: ...


@dataclass
class Context:
    store: Store
    settings: ResolverSettings
    loaders: Loaders
    # The curated table of complementary trades that an analytics refresh blends in.
    curated: Curated
    principal: Principal | None = None
    request: Any = None
    response: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    # The key box and address rules of webhooks (None where the service made none).
    webhooks: WebhookConfig | None = None
    # Over WebSocket: the payload of connection_init (strawberry sets it), and the time (Unix
    # seconds) the connection's token expires.
    transport: str = "http"
    connection_params: dict[str, Any] | None = None
    expires: float | None = None

    @classmethod
    def new(
        cls, store: Store, settings: ResolverSettings, principal: Principal | None = None,
        request: Any = None, response: Any = None, *, curated: Curated,
        webhooks: WebhookConfig | None = None,
    ) -> Context:
        return cls(
            store=store, settings=settings, loaders=Loaders(store), curated=curated,
            principal=principal, request=request, response=response, webhooks=webhooks,
        )

    def refresh(self) -> None:
        """Forget what the loaders hold. A WebSocket connection keeps one context for all its
        events: each event is resolved with loaders made after it arrived, so that it never
        sees the referral as it was before its change."""
        self.loaders = Loaders(self.store)


Info = StrawberryInfo[Context, None]
