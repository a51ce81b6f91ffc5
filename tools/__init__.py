"""Typed tool functions: what a dispatcher, a partner system, a scenario script and the agent all call.

Each tool takes a :class:`tools.context.ToolContext` and a pydantic request, and returns a pydantic
result (the same schemas serve the HTTP API, MCP and the agent):

* :mod:`tools.lifecycle`: plan the day, approve (dispatch) or discard drafts, the clock, the audit trail;
* :mod:`tools.events`: new order, cancel / un-cancel, vehicle unavailable, delay, window change, pin,
  manual move; each recorded at once and followed by a re-planned draft;
* :mod:`tools.insertion`: insertion advice for a prospective order;
* :mod:`tools.explain`: why an order is on its vehicle, why it is unassigned, what a manual move costs;
* :mod:`tools.whatif`: sandbox scenarios with KPI deltas;
* :mod:`tools.kpis`: KPIs and look-ups;
* :mod:`tools.catalog`: listings of a world (summary, depots, vehicles, orders, plans) and one plan by id;
* :mod:`tools.order_edits`: change an order's window, demand, service time, priority, customer or notes;
* :mod:`tools.world_upload`: a whole world sent as CSV texts (the partner API's bulk import).

Below them: :mod:`tools.planning` (world -> routing problem -> checked plan), :mod:`tools.world_io`
(CSV worlds), :mod:`tools.instances` (benchmark files) and :mod:`tools.sql` (the store).
"""
