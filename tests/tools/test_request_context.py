"""One context per request: the world, committed plan and clock are read once, a write through the request is
read back fresh, and a long-lived context never answers from a stale world."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tools import catalog, kpis
from tools.context import RequestStore, ToolContext
from tools.events import OrderRef


class CountingStore:
    """The real store, counting how often the world is loaded."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.loads = 0

    def __getattr__(self, name: str) -> Any:
        if name == "load_world":
            self.loads += 1
        return getattr(self.store, name)


def test_a_request_loads_the_world_once_and_again_only_after_its_own_write(hz_ctx: ToolContext) -> None:
    counting = CountingStore(hz_ctx.store)
    request = replace(hz_ctx, store=counting).for_request()  # type: ignore[arg-type]
    assert isinstance(request.store, RequestStore)
    order_id = request.world().orders[0].id
    catalog.call("world_info", request)
    catalog.call("order_status", request, kpis.OrderLookup(order_id=order_id))
    catalog.call("get_kpis", request)
    assert counting.loads == 1
    result = catalog.call("cancel_order", request, OrderRef(order_id=order_id))  # writes, then re-plans from the fresh world
    assert order_id not in {s for r in result.draft.routes for s in r.stops}
    after = counting.loads
    assert catalog.call("world_info", request).cancelled_orders == 1  # read back fresh after the write
    assert counting.loads == after + 1


def test_a_long_lived_context_sees_another_doors_write_at_once(hz_ctx: ToolContext) -> None:
    session = hz_ctx  # a chat session's context: not request-scoped
    other = hz_ctx.for_request()
    before = catalog.call("world_info", session).cancelled_orders
    catalog.call("cancel_order", other, OrderRef(order_id=session.world().orders[1].id))
    assert catalog.call("world_info", session).cancelled_orders == before + 1
    assert session.for_request().world().orders[1].cancelled  # a new request starts fresh


def test_for_request_does_not_stack_caches(hz_ctx: ToolContext) -> None:
    once = hz_ctx.for_request()
    twice = once.for_request()
    assert isinstance(twice.store, RequestStore) and not isinstance(twice.store._store, RequestStore)
