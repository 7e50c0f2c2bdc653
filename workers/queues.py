"""Job kinds and the Celery queues they run on: one table for the web process and the workers.

The web process needs only names (it sends "run job N" messages by task name); the workers
declare the queues and implement the tasks (workers/tasks/). Nothing here imports either side.
"""

from __future__ import annotations

from types import MappingProxyType

QUEUES = ("default", "dsp", "train", "deploy", "tune")

# job kind -> (Celery task name, queue)
JOB_KINDS = MappingProxyType(
    {
        "summarize-data": ("data.summarize", "default"),
        "wait": ("system.wait", "default"),
        "generate-features": ("dsp.generate_features", "dsp"),
        "train": ("train.run", "train"),
        "test": ("train.test", "train"),
        "profile": ("deploy.profile", "deploy"),
        # Edge Impulse SDK's pretrained-model upload/profile: done in the request, the row is
        # created finished (never dispatched) so the SDK can poll it
        "pretrained-model": ("deploy.profile", "deploy"),
        "build": ("deploy.build", "deploy"),
        # the tuner's coordinator waits on its trials: it must not hold a `tune` slot
        "tune": ("tune.run", "default"),
        "tune-trial": ("tune.trial", "tune"),
    }
)
