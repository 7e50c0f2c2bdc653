"""The tuner's use cases: start a search, run it (the coordinator job), run one trial (a job of
its own on the `tune` queue), its result, and applying a trial as a new impulse.

The coordinator (`tune.run`, default queue) packs the project's training samples once, screens
candidates with the on-device estimate (those that cannot fit are stored as skipped, never
trained), then drives successive halving: each rung's trials are jobs (`tune-trial`) that any
worker on any host picks up; it waits for the rung, promotes the best third, and goes on. Trial
jobs get the job machinery's heartbeat, retry after a lost worker and cancellation; a trial's
row is written when it ends. Everything is re-derived from the rows, so a coordinator that is
re-queued after its worker died carries on where it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import UnitOfWork
from app.core.storage import BlobStore
from app.models import FINISHED, Job, Sample, TuneTrial
from app.models.base import utcnow
from app.schemas.impulses import ImpulseCreate
from app.schemas.jobs import TuneRequest
from app.services import artifacts
from app.services import impulses as impulse_service
from app.services import jobs as job_service
from app.services.errors import Conflict, Invalid, NotFound
from app.services.samples import SampleFilter, all_samples, sample_image, sample_values
from workers.tune import cost, strategy
from workers.tune import space as tune_space

DEFAULT_EPOCHS = 30
ETA = 3
Log = Callable[[str], None]


class TuneCancelled(Exception):
    """The tuner was cancelled; its running trials have been asked to stop."""


# ----------------------------------------------------------------------------- data


def data_kind(samples: list[Sample]) -> str:
    if all(s.kind == "image" for s in samples):
        return "image"
    if any(s.kind == "image" for s in samples):
        raise Conflict("the training data mixes images and time series: the tuner needs one kind")
    audio = [s.format == "wav" or (s.frequency_hz or 0) >= 1000 for s in samples]
    return "audio" if sum(audio) * 2 >= len(samples) else "motion"


def split_key(samples: list[Sample], wanted: str | None) -> str:
    """The metadata key the validation split groups by: `wanted`, else the one the platform's
    training would suggest (`suggest_split_key`: speaker, subject, ... when every sample carries
    it), else the sample itself: so training an applied trial splits the same way."""
    from workers.learn.training import suggest_split_key

    if wanted:
        missing = [s.id for s in samples if wanted not in (s.metadata_ or {})]
        if missing:
            raise Invalid(
                f"splitByMetadata: {len(missing)} training sample(s) have no metadata "
                f"{wanted!r} (e.g. sample {missing[0]})"
            )
        return wanted
    return suggest_split_key([s.metadata_ for s in samples]) or "sample"


def training_samples(session: Session, project_id: int) -> list[Sample]:
    samples = all_samples(session, project_id, SampleFilter(category="training", enabled=True))
    if not samples:
        raise Conflict("the project has no enabled training samples: upload labelled data first")
    unlabelled = [s for s in samples if not s.label]
    if unlabelled:
        raise Conflict(
            f"{len(unlabelled)} training sample(s) have no label (e.g. sample {unlabelled[0].id}): "
            "the tuner needs every training sample labelled"
        )
    labels = sorted({s.label for s in samples})
    if len(labels) < 2:
        raise Conflict(
            f"the training data has one class ({labels[0]!r}): a classifier needs two or more"
        )
    return samples


def pack_data(store: BlobStore, samples: list[Sample], *, kind: str, key: str):
    from workers.tune.trial import TuneData

    arrays, intervals, sensors = [], [], None
    for s in samples:
        if kind == "image":
            arrays.append(sample_image(store, s))
        else:
            values, interval_ms, sens = sample_values(store, s)
            arrays.append(values)
            intervals.append(float(interval_ms))
            sensors = sensors or [x["name"] for x in sens]
    from workers.learn.training import sample_groups

    # the groups the platform's training makes of the same samples (`validation_groups`), so an
    # applied trial trained with the same seed gets the same split
    groups = (
        [str(g) for g in sample_groups([s.id for s in samples])]
        if key == "sample"
        else [str(s.metadata_[key]) for s in samples]
    )
    return TuneData(
        kind=kind,
        arrays=arrays,
        labels=[s.label for s in samples],
        groups=groups,
        interval_ms=intervals,
        sensors=sensors,
        split_key=key,
    )


# ----------------------------------------------------------------------------- start


def start(
    session: Session, sender: job_service.TaskSender, project_id: int, body: TuneRequest
) -> Job:
    """Validate a tune request (board, limits, space, data) and queue the coordinator job."""
    try:
        limits = cost.limits_for(
            body.board,
            max_latency_ms=body.maxLatencyMs,
            max_ram_bytes=body.maxRamBytes,
            max_flash_bytes=body.maxFlashBytes,
        )
    except cost.BoardError as exc:
        raise Invalid(f"board: {exc}") from exc
    samples = training_samples(session, project_id)
    kind = data_kind(samples)
    key = split_key(samples, body.splitByMetadata)
    if key != "sample" and len({str(s.metadata_[key]) for s in samples}) < 2:
        raise Conflict(f"every training sample has the same {key!r}: the split needs two or more")
    try:
        space = tune_space.narrow(kind, body.space)
    except tune_space.SpaceError as exc:
        raise Invalid(str(exc)) from exc
    params = {
        "limits": limits.as_dict(),
        "kind": kind,
        "split_key": key,
        "space": space,
        "max_trials": body.maxTrials,
        "time_budget_s": body.timeBudgetS,
        "max_epochs": body.maxEpochs,
        "seed": body.seed,
        "strategy": body.strategy,
    }
    return job_service.queue_job(session, sender, project_id, "tune", params)


# ----------------------------------------------------------------------------- the coordinator


def _trials(session: Session, job_id: int) -> list[TuneTrial]:
    return list(
        session.scalars(select(TuneTrial).where(TuneTrial.job_id == job_id).order_by(TuneTrial.id))
    )


def _sync_with_jobs(session: Session, trials: list[TuneTrial]) -> None:
    """A trial whose job ended without writing the row (gave up after a lost worker, cancelled
    before it started) takes the job's outcome."""
    for t in trials:
        if t.finished or t.trial_job_id is None:
            continue
        job = session.get(Job, t.trial_job_id)
        if job is not None and job.status in FINISHED:
            t.status = "failed" if job.status == "succeeded" else job.status
            t.reason = t.reason or job.error or f"trial job {job.status}"
            t.finished_at = utcnow()


def screen_candidates(
    uow: UnitOfWork, job_id: int, project_id: int, params: dict[str, Any], data: Any, log: Log
) -> None:
    """Sample points, screen them with the estimator, store skipped ones; raise when nothing
    fits (before any training), naming the smallest candidate's figures."""
    from workers.tune.trial import screen

    limits = cost.Limits(**params["limits"])
    n = int(params["max_trials"])
    points = tune_space.sample_points(params["space"], 4 * n, seed=int(params["seed"]))
    fitting = 0
    smallest: dict[str, Any] | None = None
    rows = []
    for i, p in enumerate(points):
        s = screen(
            p,
            kind=params["kind"],
            source_hz=data.source_hz,
            n_axes=data.n_axes,
            n_classes=len(data.classes),
            limits=limits,
        )
        if s.profile and (
            smallest is None
            or (s.profile["ram_bytes"], s.profile["latency_ms"])
            < (smallest["ram_bytes"], smallest["latency_ms"])
        ):
            smallest = s.profile
        rows.append((i, s))
        if s.fits:
            fitting += 1
        else:
            log(f"candidate {i} skipped: {s.reason}")
        if fitting >= n:
            break
    with uow() as session:
        for i, s in rows:
            session.add(
                TuneTrial(
                    job_id=job_id,
                    project_id=project_id,
                    candidate=i,
                    rung=-1,
                    epochs=0,
                    status="screened" if s.fits else "skipped",
                    point=s.point,
                    impulse=s.impulse,
                    estimate=s.profile,
                    reason=s.reason,
                    finished_at=None if s.fits else utcnow(),
                )
            )
    log(f"screened {len(rows)} candidates: {fitting} fit, {len(rows) - fitting} skipped")
    if not fitting:
        figures = (
            f"latency {smallest['latency_ms']:.2f} ms, RAM {smallest['ram_bytes']:,} B, "
            f"flash {smallest['flash_bytes']:,} B"
            if smallest
            else "none could be built"
        )
        raise Invalid(
            f"nothing in the search space fits the budget ({_limits_text(limits)}); "
            f"the smallest candidate needs {figures}"
        )


def _limits_text(limits: cost.Limits) -> str:
    parts = [limits.board]
    if limits.max_latency_ms is not None:
        parts.append(f"≤ {limits.max_latency_ms:g} ms")
    if limits.max_ram_bytes is not None:
        parts.append(f"RAM ≤ {limits.max_ram_bytes:,} B")
    if limits.max_flash_bytes is not None:
        parts.append(f"flash ≤ {limits.max_flash_bytes:,} B")
    return ", ".join(parts)


def _result_of(t: TuneTrial) -> dict[str, Any]:
    return {
        "candidate": t.candidate,
        "accuracy": {"int8": t.accuracy_int8, "float32": t.accuracy_float32},
        "profile": {"latency_ms": t.latency_ms},
    }


def run(
    uow: UnitOfWork,
    store: BlobStore,
    sender: job_service.TaskSender,
    job_id: int,
    *,
    log: Log,
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
    poll_s: float = 1.0,
) -> dict[str, Any]:
    """The coordinator: pack, screen, then successive halving (or random search) over trial jobs."""
    t0 = time.monotonic()
    with uow() as session:
        job = job_service.get_job_any(session, job_id)
        project_id, params = job.project_id, dict(job.params)
        key = artifacts.tune_data_key(project_id, job_id)
        packed = store.exists(key)
        if not packed:
            samples = training_samples(session, project_id)
            data = pack_data(store, samples, kind=params["kind"], key=params["split_key"])
    from workers.tune.trial import TuneData

    if packed:
        data = TuneData.from_bytes(store.get(key))
    else:
        store.put(key, data.to_bytes())
        log(
            f"packed {len(data.arrays)} training samples, {len(data.classes)} classes, "
            f"validation split by {data.split_key}"
        )
    with uow() as session:
        screened = [t for t in _trials(session, job_id) if t.rung == -1]
    if not screened:
        screen_candidates(uow, job_id, project_id, params, data, log)
    with uow() as session:
        pool = [t.candidate for t in _trials(session, job_id) if t.status == "screened"]
    max_epochs = int(params["max_epochs"])
    if params["strategy"] == "random":
        rungs = [(len(pool), max_epochs)]
    else:
        rungs = strategy.plan(len(pool), max_epochs=max_epochs, eta=ETA)
    log(f"{params['strategy']}: rungs (trials, epochs) {rungs}")
    budget = params.get("time_budget_s")
    alive = pool
    for r, (count, epochs) in enumerate(rungs):
        with uow() as session:
            existing = [t for t in _trials(session, job_id) if t.rung == r]
            if not existing:
                base = {t.candidate: t for t in _trials(session, job_id) if t.rung == -1}
                for c in alive[:count]:
                    trial = TuneTrial(
                        job_id=job_id,
                        project_id=project_id,
                        candidate=c,
                        rung=r,
                        epochs=epochs,
                        status="queued",
                        point=base[c].point,
                        impulse=base[c].impulse,
                        estimate=base[c].estimate,
                    )
                    session.add(trial)
                    session.flush()
                    tj = job_service.queue_job(
                        session,
                        sender,
                        project_id,
                        "tune-trial",
                        {"tuner_job_id": job_id, "trial_id": trial.id},
                    )
                    trial.trial_job_id = tj.id
        if not existing:  # logged outside the transaction (SQLite has one writer)
            log(f"rung {r}: queued {min(count, len(alive))} trials of {epochs} epochs")
        while True:
            stop = cancelled()  # read once: the heartbeat thread may set it at any moment
            with uow() as session:
                trials = [t for t in _trials(session, job_id) if t.rung == r]
                _sync_with_jobs(session, trials)
                done = sum(t.finished for t in trials)
                over = budget is not None and time.monotonic() - t0 > float(budget)
                if stop or over:
                    for t in trials:
                        if not t.finished and t.trial_job_id is not None:
                            running = session.get(Job, t.trial_job_id)
                            if running is not None and running.status not in FINISHED:
                                job_service.request_cancel(session, running)
                            if running is None or running.status == "cancelled":  # not started
                                t.status, t.finished_at = "cancelled", utcnow()
                                t.reason = "tuner cancelled" if not over else "time budget"
                results = [_result_of(t) for t in trials if t.status == "succeeded"]
            progress(100.0 * (r + done / max(1, len(trials))) / len(rungs))
            if stop:
                raise TuneCancelled()
            if over:
                log(f"time budget of {budget} s reached: remaining trials cancelled")
                return summary(uow, job_id)
            if done == len(trials):
                break
            time.sleep(poll_s)
        if r + 1 < len(rungs):
            alive = [x["candidate"] for x in strategy.promote(results, rungs[r + 1][0])]
            if not alive:
                raise Invalid(f"every trial of rung {r} failed: see the trials' reasons")
    return summary(uow, job_id)


def summary(uow: UnitOfWork, job_id: int) -> dict[str, Any]:
    with uow() as session:
        return result(session, job_service.get_job_any(session, job_id))


# ----------------------------------------------------------------------------- one trial


def _trial_row(session: Session, trial_id: int) -> TuneTrial:
    trial = session.get(TuneTrial, trial_id)
    if trial is None:
        raise NotFound(f"trial {trial_id} does not exist")
    return trial


def run_trial_job(
    uow: UnitOfWork,
    store: BlobStore,
    trial_id: int,
    *,
    worker: str,
    log: Log,
    progress: Callable[[float], None],
    should_stop: Callable[[], bool],
) -> dict[str, Any]:
    from workers.learn import TrainingCancelled
    from workers.tune.trial import TuneData, run_trial

    with uow() as session:
        trial = _trial_row(session, trial_id)
        tuner = job_service.get_job_any(session, trial.job_id)
        trial.status, trial.worker = "running", worker
        impulse, epochs = dict(trial.impulse or {}), trial.epochs
        board, seed = tuner.params["limits"]["board"], int(tuner.params["seed"])
        key = artifacts.tune_data_key(trial.project_id, trial.job_id)
    data = TuneData.from_bytes(store.get(key))
    log(f"trial {trial_id}: {epochs} epochs of {impulse['dsp']['block']} + network on {worker}")

    def on_epoch(epoch: int, _metrics: dict[str, float]) -> None:
        progress(90.0 * epoch / max(1, epochs))

    try:
        out = run_trial(
            data,
            impulse,
            epochs=epochs,
            board=board,
            seed=seed,
            should_stop=should_stop,
            on_epoch=on_epoch,
        )
    except TrainingCancelled:
        with uow() as session:
            t = _trial_row(session, trial_id)
            t.status, t.reason, t.finished_at = "cancelled", "cancelled", utcnow()
        raise
    except Exception as exc:
        with uow() as session:
            t = _trial_row(session, trial_id)
            t.status, t.reason, t.finished_at = "failed", str(exc)[:2000], utcnow()
        raise
    with uow() as session:
        t = _trial_row(session, trial_id)
        t.status = "succeeded"
        t.accuracy_float32 = out["accuracy"]["float32"]
        t.accuracy_int8 = out["accuracy"]["int8"]
        t.latency_ms = out["profile"]["latency_ms"]
        t.dsp_latency_ms = out["profile"]["dsp_latency_ms"]
        t.nn_latency_ms = out["profile"]["nn_latency_ms"]
        t.ram_bytes = out["profile"]["ram_bytes"]
        t.flash_bytes = out["profile"]["flash_bytes"]
        t.seconds = out["seconds"]
        t.finished_at = utcnow()
        return trial_json(t)


# ----------------------------------------------------------------------------- result, apply


def trial_json(t: TuneTrial) -> dict[str, Any]:
    return {
        "id": t.id,
        "candidate": t.candidate,
        "rung": t.rung,
        "epochs": t.epochs,
        "status": t.status,
        "point": t.point,
        "impulse": t.impulse,
        "accuracy": {"float32": t.accuracy_float32, "int8": t.accuracy_int8},
        "profile": {
            "latency_ms": t.latency_ms,
            "dsp_latency_ms": t.dsp_latency_ms,
            "nn_latency_ms": t.nn_latency_ms,
            "ram_bytes": t.ram_bytes,
            "flash_bytes": t.flash_bytes,
        },
        "estimate": t.estimate,
        "reason": t.reason,
        "worker": t.worker,
        "seconds": t.seconds,
    }


def _with_job_outcome(session: Session, t: TuneTrial) -> dict[str, Any]:
    """A trial as JSON; one whose job ended without writing the row (cancelled before it
    started, gave up after lost workers) shows the job's outcome."""
    out = trial_json(t)
    if not t.finished and t.trial_job_id is not None:
        job = session.get(Job, t.trial_job_id)
        if job is not None and job.status in FINISHED:
            out["status"] = "failed" if job.status == "succeeded" else job.status
            out["reason"] = t.reason or job.error or f"trial job {job.status}"
    return out


def result(session: Session, job: Job) -> dict[str, Any]:
    """{"trials": [...], "best", "skipped", "limits"}: every trained trial as it stands (the
    screened-only rows are folded into `skipped` when they did not fit)."""
    if job.kind != "tune":
        raise NotFound(f"job {job.id} is not a tuner job")
    rows = _trials(session, job.id)
    trials = [_with_job_outcome(session, t) for t in rows if t.rung >= 0]
    skipped = [trial_json(t) for t in rows if t.status == "skipped"]
    top = max(
        (t for t in trials if t["status"] == "succeeded"),
        key=lambda t: (t["epochs"], *strategy.score(t)),
        default=None,
    )
    front = strategy.pareto_front(
        [
            (t["id"], t["accuracy"]["int8"], t["profile"]["latency_ms"])
            for t in trials
            if t["status"] == "succeeded"
        ]
    )
    for t in trials:
        t["pareto"] = t["id"] in front
    return {
        "trials": trials,
        "best": top,
        "skipped": skipped,
        "limits": (job.params or {}).get("limits"),
        "status": job.status,
    }


def get_trial(session: Session, project_id: int, job_id: int, trial_id: int) -> TuneTrial:
    job = job_service.get_job(session, project_id, job_id)
    if job.kind != "tune":
        raise NotFound(f"job {job_id} is not a tuner job")
    t = session.get(TuneTrial, trial_id)
    if t is None or t.job_id != job_id:
        raise NotFound(f"trial {trial_id} does not exist in tuner job {job_id}")
    return t


def apply(session: Session, project_id: int, job_id: int, trial_id: int) -> int:
    """A new impulse with the trial's input, processing block and learning block (its layers,
    the trial's epochs and seed); returns its id."""
    t = get_trial(session, project_id, job_id, trial_id)
    if t.impulse is None or t.rung < 0:
        raise Conflict(f"trial {trial_id} was {t.status}: only a trained trial can be applied")
    job = job_service.get_job(session, project_id, job_id)
    imp = t.impulse
    # the trial's epochs and seed; its validation split when that was by a metadata key
    training: dict[str, Any] = {"epochs": t.epochs, "seed": int(job.params.get("seed", 1))}
    if job.params.get("split_key") not in (None, "sample"):
        training["split_by_metadata"] = job.params["split_key"]
    body = ImpulseCreate.model_validate(
        {
            "name": f"Tuner job {job_id}, trial {trial_id}",
            "input": imp["input"],
            "dsp": [{"id": 1, "block": imp["dsp"]["block"], "params": imp["dsp"]["params"]}],
            "learn": [
                {
                    "id": 2,
                    "type": "classification",
                    "dsp": [1],
                    "settings": {
                        "layers": imp["learn"]["layers"],
                        "training": training,
                    },
                }
            ],
        }
    )
    return impulse_service.create_impulse(session, project_id, body).id
