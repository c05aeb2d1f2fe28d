"""Shared runtime: settings, logging, telemetry and the ports with their adapters.

Nothing here runs by itself and nothing is created at import: services build what they need
in their composition root.
"""
