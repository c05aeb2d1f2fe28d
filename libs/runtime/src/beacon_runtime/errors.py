"""Errors every adapter raises the same way, so callers can answer 503 instead of 500."""


class DependencyUnavailable(Exception):
    """A backing server (Redis, RabbitMQ, Postgres, Qdrant) cannot be reached right now."""
