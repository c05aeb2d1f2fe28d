from beacon_runtime.jobs.port import JobStore

__all__ = ["JobStore"]
