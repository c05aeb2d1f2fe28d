"""Shared pydantic models: events, the job record and both HTTP contracts. No I/O here."""
