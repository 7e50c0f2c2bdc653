"""The spoken-digit done-when of issue 12 through the running platform, on the full FSDD.

`tinyforge up` (web + a worker with 2 processes: the coordinator and one trial) and a second
worker on the `tune` queue (1 process); every FSDD recording uploaded through the API with its
speaker as metadata (`{digit}_{speaker}_{n}.wav`; n 0-4 testing, the rest training); the
platform's default audio impulse (MFCC + DS-CNN) designed, trained and tested; its latency on
the board (DSP + network, by the function the trials use); then the tuner under that board's
limits with the default's latency as the latency limit, validation split by speaker; the best
trial applied (a new impulse), trained on all training data and tested. Prints both impulses'
test accuracy and latency, the search's time, its trials and the workers they ran on.

    PYTHONPATH=. nice python bench/tune_fsdd.py --data ../shared/data/fsdd --trials 9 \\
        --max-epochs 24
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BOARD = "Arduino Nano 33 BLE Sense"


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *cmd],
        env=env,
        cwd=ROOT,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def upload(client, folder: Path, speakers: list[str] | None) -> dict[str, int]:
    """Every recording, batched by (category, digit, speaker) so one request carries one label
    and one `x-metadata`."""
    batches: dict[tuple[str, str, str], list[Path]] = defaultdict(list)
    for f in sorted(folder.glob("*.wav")):
        digit, speaker, index = f.stem.split("_")
        if speakers and speaker not in speakers:
            continue
        category = "testing" if int(index) <= 4 else "training"
        batches[(category, digit, speaker)].append(f)
    counts: Counter = Counter()
    for (category, digit, speaker), files in sorted(batches.items()):
        for i in range(0, len(files), 50):
            part = files[i : i + 50]
            body = client.upload_files(
                category,
                [(f.name, f.read_bytes()) for f in part],
                label=digit,
                headers={"x-metadata": json.dumps({"speaker": speaker})},
            )
            bad = [r for r in body.get("files", []) if not r.get("success")]
            if bad or not body.get("files"):
                raise RuntimeError(f"upload failed: {bad or body}")
            counts[category] += len(part)
    return dict(counts)


def train_and_test(client, pid: int, impulse_id: int, learn_id: int, echo) -> dict:
    """Features, training and test of one impulse through the API; its test accuracy and its
    profile on BOARD (the profile job that follows training)."""
    times = {}
    for stage, path, body in (
        ("features", "generate-features", {"impulseId": impulse_id}),
        ("train", "train", {"impulseId": impulse_id, "learnId": learn_id}),
        ("test", "test", {"impulseId": impulse_id, "learnId": learn_id}),
    ):
        t = time.monotonic()
        job_id = client.post(f"/api/{pid}/jobs/{path}", json=body)["id"]
        job = client.wait_for_job(pid, job_id, timeout=7200)
        times[stage] = round(time.monotonic() - t, 1)
        if job["status"] != "succeeded":
            raise RuntimeError(f"{stage} job {job_id} {job['status']}: {job.get('error')}")
        if stage == "test":
            test_accuracy = job["result"]["accuracy"]
        echo(f"  impulse {impulse_id}: {stage} {times[stage]} s")
    # the impulse's latency on BOARD by the function the tuner's trials use (workers.tune.cost:
    # its processing block measured under QEMU as the profile does, plus the int8 model's estimate)
    from workers.tune import cost

    block = client.get(f"/api/{pid}/impulses/{impulse_id}/learn/{learn_id}/results")
    int8 = client.http.get(
        f"/api/{pid}/artifacts/{block['downloads']['tflite-int8']}/download"
    ).content
    imp = client.get(f"/api/{pid}/impulses/{impulse_id}")
    imp = imp.get("impulse", imp)
    dsp = imp["dsp"][0]
    profile = cost.candidate_cost(
        int8,
        {"input": imp["input"], "dsp": {"block": dsp["block"], "params": dsp["params"]}},
        board=BOARD,
        n_axes=1,
    )
    return {"test": test_accuracy, **profile, "seconds": times}


def main() -> None:
    from app.client import TinyforgeClient
    from app.demo import FSDD_IMPULSE, free_port

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    ap.add_argument("--speakers", nargs="*", default=None, help="a subset of speakers")
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--max-epochs", type=int, default=20)
    ap.add_argument("--time-budget-s", type=float, default=2400)
    args = ap.parse_args()
    echo = lambda m: print(m, flush=True)  # noqa: E731
    tmp = Path(tempfile.mkdtemp(prefix="tune-fsdd-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFORGE_")}
    env.update(TINYFORGE_DATA_DIR=str(tmp / "data"), PYTHONPATH=str(ROOT))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = [start(["up", "--port", str(port), "--concurrency", "2"], env, tmp / "up.log")]
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    "platform did not come up: " + (tmp / "up.log").read_text()[-2000:]
                )
            time.sleep(0.5)
        procs.append(
            start(["worker", "-Q", "tune", "--concurrency", "1"], env, tmp / "worker2.log")
        )
        made = subprocess.run(
            [sys.executable, "-m", "app.cli", "project", "create", "--name", "fsdd", "--json"],
            env=env,
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        )
        project = json.loads(made.stdout)
        pid = int(project["id"])
        client = TinyforgeClient(url, project["api_key"], timeout=600)
        t0 = time.monotonic()
        counts = upload(client, args.data, args.speakers)
        echo(f"uploaded {counts} in {time.monotonic() - t0:.0f} s (logs in {tmp})")

        body = FSDD_IMPULSE.model_dump(mode="json", exclude_none=True)
        default_id = client.post(f"/api/{pid}/impulses", json=body)["id"]
        learn_id = next(b.id for b in FSDD_IMPULSE.learn or [] if b.type == "classification")
        default = train_and_test(client, pid, default_id, learn_id, echo)
        echo(f"default impulse: {json.dumps(default)}")

        t1 = time.monotonic()
        tune = {
            "board": BOARD,
            "maxLatencyMs": default["latency_ms"],
            "maxTrials": args.trials,
            "maxEpochs": args.max_epochs,
            "timeBudgetS": args.time_budget_s,
            "splitByMetadata": "speaker",
        }
        job_id = client.post(f"/api/{pid}/jobs/tune", json=tune)["id"]
        job = client.wait_for_job(
            pid, job_id, timeout=7200, on_line=lambda m: echo(f"  [tune] {m}")
        )
        search_s = time.monotonic() - t1
        result = client.get(f"/api/{pid}/jobs/{job_id}/result")
        result = result.get("result", result)
        trained = [t for t in result["trials"] if t["status"] == "succeeded"]
        workers = Counter(t["worker"] for t in result["trials"] if t["worker"])
        best = result["best"]
        echo(
            f"tuner job {job['status']}: {len(result['trials'])} trials, "
            f"{len(result['skipped'])} skipped, {len(trained)} trained, {search_s:.0f} s"
        )
        if best is None:
            raise SystemExit("the tuner found nothing")
        new_id = client.post(f"/api/{pid}/tuner/{job_id}/trials/{best['id']}/apply")["id"]
        tuned = train_and_test(client, pid, new_id, 2, echo)
        tuned["trial"] = {k: best[k] for k in ("id", "epochs", "point", "accuracy", "profile")}
        echo(f"best trial applied as impulse {new_id}: {json.dumps(tuned)}")

        echo("")
        echo(
            f"FSDD ({counts.get('training')} training, {counts.get('testing')} testing "
            f"recordings), board {BOARD}, validation split by speaker"
        )
        for name, r in (("default", default), ("tuner best", tuned)):
            echo(
                f"{name:>10}: test int8 {100 * r['test']['int8']:.2f} % float32 "
                f"{100 * r['test']['float32']:.2f} %, latency {r['latency_ms']:.2f} ms "
                f"(DSP {r['dsp_latency_ms']:.2f} + NN {r['nn_latency_ms']:.2f}), "
                f"RAM {r['ram_bytes']:,} B, flash {r['flash_bytes']:,} B"
            )
        echo(
            f"best trial: {json.dumps(best['point'])}, {best['epochs']} epochs, validation "
            f"int8 {best['accuracy']['int8']}, profile {json.dumps(best['profile'])}"
        )
        rungs = Counter(t["rung"] for t in result["trials"])
        echo(
            f"search: {search_s:.0f} s wall, {len(result['trials'])} trials "
            f"({len(trained)} trained, (rung, trials) {sorted(rungs.items())}), "
            f"{len(result['skipped'])} candidates skipped"
        )
        echo(f"trials per worker process: {dict(workers)} ({len(workers)} workers)")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            except Exception:
                os.killpg(p.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
