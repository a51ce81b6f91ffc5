"""The partner doors' shared parts and the HTTP API.

* :mod:`copilot.apps.partner.tenancy`: API keys, partners and the names of their worlds;
* :mod:`copilot.apps.partner.gate`: the ASGI gate in front of every partner request (key, body size, rate,
  in-flight and planning limits, idempotency), shared by the HTTP API and MCP over HTTP;
* :mod:`copilot.apps.partner.errors`: the error body of every 4xx/5xx reply;
* :mod:`copilot.apps.partner.routes`: the FastAPI app, its routes generated from :mod:`tools.catalog`.
"""
