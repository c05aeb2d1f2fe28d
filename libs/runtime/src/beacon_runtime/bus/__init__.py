from beacon_runtime.bus.port import EventBus, Handler, Reject, RetryPolicy, topic_matches

__all__ = ["EventBus", "Handler", "Reject", "RetryPolicy", "topic_matches"]
