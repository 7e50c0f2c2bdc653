"""The Celery application, configured from Settings.

Embedded default: a filesystem broker under the data directory (no server needed). Production:
Redis or RabbitMQ via TINYFORGE_BROKER_URL. Queues per workload: default, dsp, train, deploy, tune.
TensorFlow is never imported here or in a prefork parent: training code imports it inside the
task, in the child process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from celery import Celery, signals
from kombu import Queue

from app.core.config import Settings, get_settings
from app.core.db import get_engine, session_scope
from app.services import jobs as job_service
from workers.queues import QUEUES

log = logging.getLogger("tinyforge.worker")

TASK_MODULES = [
    "workers.tasks.system",
    "workers.tasks.dsp",
    "workers.tasks.learn",
    "workers.tasks.deploy",
    "workers.tasks.tune",
]


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "tinyforge",
        broker=settings.broker_url,
        backend=settings.result_backend,
        include=TASK_MODULES,
    )
    conf: dict = {
        "task_queues": [Queue(q) for q in QUEUES],
        "task_default_queue": "default",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_send_task_events": False,
    }
    if settings.broker_url.startswith("filesystem"):
        folder = settings.broker_dir / "queue"
        folder.mkdir(parents=True, exist_ok=True)
        (settings.broker_dir / "processed").mkdir(parents=True, exist_ok=True)
        conf["broker_transport"] = "workers.broker:Transport"  # atomic puts and claims (see there)
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(settings.broker_dir / "processed"),
            "control_folder": str(settings.broker_dir / "control"),
            "bad_folder": str(settings.broker_dir / "bad"),
            "store_processed": False,
            "polling_interval": 0.2,
        }
        # the filesystem transport has no fanout exchange: remote control is off (jobs cancel via
        # the DB)
        conf["worker_enable_remote_control"] = False
        # Re-queueing a rejected message stalls this transport's consumer after a pool child dies;
        # ack it instead and let the heartbeat reaper re-queue the job (it notices within the
        # heartbeat timeout).
        conf["task_reject_on_worker_lost"] = False
    if settings.result_backend.startswith("db+sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.conf.update(conf)
    return app


celery_app = make_celery(get_settings())
_clients: dict[tuple, Celery] = {}


def celery_for(settings: Settings | None = None) -> Celery:
    """The Celery app for `settings` (the module's app when they match the environment's)."""

    def key_of(s: Settings) -> tuple:
        return (s.broker_url, s.result_backend, str(s.broker_dir))

    if settings is None or key_of(settings) == key_of(get_settings()):
        return celery_app
    key = key_of(settings)
    if key not in _clients:
        _clients[key] = make_celery(settings)
    return _clients[key]


# --- dead-worker recovery: every worker runs the reaper now and then ------------------------------

_reaper_stop = threading.Event()


def reap_once(settings: Settings | None = None) -> list[tuple[int, str]]:
    settings = settings or get_settings()
    with session_scope(settings) as session:
        outcome = job_service.reap_stale(
            session,
            timeout_s=settings.job_heartbeat_timeout_s,
            max_attempts=settings.job_max_attempts,
        )
        requeue = [
            job_service.get_job_any(session, jid) for jid, what in outcome if what == "requeued"
        ]
    for job in requeue:
        job_service.dispatch(celery_for(settings), job.id, job.kind)
    # jobs left waiting in the database (a dispatcher died between its commit and its send)
    with session_scope(settings) as session:
        waiting = job_service.projects_waiting_for_dispatch(session)
    for project_id in waiting:
        job_service.dispatch_ready(
            get_engine(settings),
            celery_for(settings),
            project_id,
            settings.max_dispatched_jobs_per_project,
        )
    for jid, what in outcome:
        log.warning("job %s: worker lost, %s", jid, what)
    return outcome


_worker = {"name": f"{socket.gethostname()} pid {os.getpid()}", "queues": "*"}


def _beat(settings: Settings) -> None:
    """Record that this worker is alive (a queued job says so when none is)."""
    with session_scope(settings) as session:
        job_service.beat_worker(session, _worker["name"], _worker["queues"])


def _reaper_loop() -> None:
    settings = get_settings()
    interval = job_service.worker_beat_interval_s(settings.job_heartbeat_timeout_s)
    while not _reaper_stop.wait(interval):
        try:
            _beat(settings)
            reap_once(settings)
        except Exception:
            log.exception("job reaper failed")


@signals.worker_ready.connect
def _start_reaper(sender=None, **_kwargs) -> None:
    _worker["name"] = f"{socket.gethostname()} pid {os.getpid()}"
    try:
        _worker["queues"] = ",".join(q.name for q in sender.task_consumer.queues)
    except Exception:
        _worker["queues"] = "*"
    try:
        _beat(get_settings())
        reap_once()
    except Exception:
        log.exception("job reaper failed at start-up")
    threading.Thread(target=_reaper_loop, name="tinyforge-reaper", daemon=True).start()


@signals.worker_shutdown.connect
def _stop_reaper(**_kwargs) -> None:
    _reaper_stop.set()
    try:
        with session_scope() as session:
            job_service.forget_worker(session, _worker["name"])
    except Exception:
        log.exception("could not remove this worker's heartbeat")


@signals.worker_process_init.connect
def _fresh_db_pool_in_child(**_kwargs) -> None:
    """A forked child must not reuse the parent's database connections."""
    get_engine().dispose(close=False)
