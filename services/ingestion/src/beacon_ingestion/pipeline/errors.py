"""How a stage fails: permanently (the input is bad; retrying cannot help) or not."""


class PermanentStageError(Exception):
    """The document can never pass this stage: fail it at once with this message."""


class StageStalled(Exception):
    """A stage reported no progress within the stall timeout; it is cancelled and retried."""
