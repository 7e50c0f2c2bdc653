"""Errors raised by the learning blocks.

`LearnError` is a `ValueError` whose message is meant for the user: the API maps it to a
4xx answer and the training job writes it to the job log as it is.
"""


class LearnError(ValueError):
    """A clear, user-facing problem with the data, the architecture, the settings or a model
    file."""


class TrainingCancelled(RuntimeError):
    """Training stopped because `should_stop()` returned True."""

    def __init__(self, *, epochs_completed: int) -> None:
        super().__init__(f"training cancelled after {epochs_completed} completed epoch(s)")
        self.epochs_completed = epochs_completed
