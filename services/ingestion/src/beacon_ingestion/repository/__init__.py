"""Rows of the ingestion schema: the port (`port`), its in-memory twin (`memory`), the
Postgres adapter (`postgres`), the table definition (`tables`) and its migrations."""
