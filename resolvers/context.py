"""The per-request context handed to every resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from app.settings import Settings
from graph.access import Principal
from graph.store import Store
from resolvers.loaders import Loaders


@dataclass
class Context:
    store: Store
    settings: Settings
    loaders: Loaders
    principal: Principal | None = None
    request: Any = None
    response: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(
        cls, store: Store, settings: Settings, principal: Principal | None = None,
        request: Any = None, response: Any = None,
    ) -> Context:
        return cls(
            store=store, settings=settings, loaders=Loaders(store), principal=principal,
            request=request, response=response,
        )


Info = StrawberryInfo[Context, None]
