from beacon_ingestion.repository.tables import metadata
from beacon_runtime.db import run_alembic_env

run_alembic_env(target_metadata=metadata)
