"""Logistics copilot: ``copilot.core`` (the standard-library core) and ``copilot.apps`` (the doors that wire everything)."""
