"""The planning core: domain model, routing problem, ports, errors, units, forecasting baselines, settings.

Standard library only (an import-linter contract keeps it so); every other package builds on it.
"""
