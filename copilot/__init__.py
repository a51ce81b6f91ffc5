"""Logistics copilot: the planning core (domain model, routing problem, ports, errors; standard library only)."""
