from beacon_runtime.bus.port import (
    BusUnavailable,
    EventBus,
    Handler,
    Reject,
    RetryLater,
    RetryPolicy,
    topic_matches,
)

__all__ = [
    "BusUnavailable", "EventBus", "Handler", "Reject", "RetryLater", "RetryPolicy",
    "topic_matches",
]
