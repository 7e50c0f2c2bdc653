"""Is the validation accuracy honest? FSDD with one speaker held out, through the platform.

Starts the platform on a fresh data directory (web server + a real worker), uploads the Free
Spoken Digit Dataset with `x-metadata: {"speaker": ...}`: every recording of the held-out
speaker goes to the testing category, every other recording to training. Then the keyword
impulse (MFCC + the default classifier, default training settings) is designed, its features
generated, trained and tested, all through the HTTP API. Prints the validation accuracy the
training reported, how it split, and the accuracy on the held-out speaker.

    python bench/validation_split.py [--data ../shared/data/fsdd] [--speaker theo] [--epochs N]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "fsdd"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--speaker", default="theo", help="the speaker held out as the test set")
    ap.add_argument("--epochs", type=int, default=None, help="default: the impulse's (40)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="tinyforge-valsplit-"))
    os.environ["TINYFORGE_DATA_DIR"] = str(data_dir)

    from app.client import TinyforgeClient
    from app.core.db import session_scope, upgrade
    from app.demo import FSDD_IMPULSE, _with_epochs, free_port, running_platform
    from app.services import projects

    files = sorted(args.data.glob("*_*_*.wav"))
    speakers = sorted({f.stem.split("_")[1] for f in files})
    if args.speaker not in speakers:
        sys.exit(f"speaker {args.speaker!r} not among {speakers}")
    t0 = time.monotonic()
    upgrade()
    echo = (lambda m: print(m, file=sys.stderr)) if not args.json else (lambda m: None)
    with running_platform(free_port(), echo=echo) as url:
        with session_scope() as session:
            new = projects.create_project(session, name="FSDD held-out speaker")
            pid, api_key = new.project.id, new.api_key
        with TinyforgeClient(url, api_key, timeout=300) as client:
            for speaker in speakers:
                category = "testing" if speaker == args.speaker else "training"
                meta = {"x-metadata": json.dumps({"speaker": speaker})}
                for digit in sorted({f.name[0] for f in files}):
                    part = [
                        (f.name, f.read_bytes())
                        for f in files
                        if f.name[0] == digit and f.stem.split("_")[1] == speaker
                    ]
                    body = client.upload_files(category, part, label=digit, headers=meta)
                    bad = [r for r in body.get("files", []) if not r.get("success")]
                    if bad or not body.get("files"):
                        sys.exit(f"upload failed: {bad or body}")
            echo(f"uploaded {len(files)} recordings ({args.speaker} held out)")
            impulse = (
                FSDD_IMPULSE if args.epochs is None else _with_epochs(FSDD_IMPULSE, args.epochs)
            )
            iid = client.post(
                f"/api/{pid}/impulses", json=impulse.model_dump(mode="json", exclude_none=True)
            )["id"]
            learn_id = impulse.learn[0].id
            log: list[str] = []

            def job(path: str, body: dict) -> dict:
                jid = client.post(f"/api/{pid}/jobs/{path}", json=body)["id"]
                out = client.wait_for_job(
                    pid, jid, on_line=lambda line: (log.append(line), echo(line))
                )
                if out["status"] != "succeeded":
                    sys.exit(f"{path} job {jid} {out['status']}: {out.get('error')}")
                return out

            job("generate-features", {"impulseId": iid})
            trained = job("train", {"impulseId": iid, "learnId": learn_id})["result"]
            tested = job("test", {"impulseId": iid, "learnId": learn_id})["result"]
    split_lines = [line for line in log if "validation split" in line or "validat" in line.lower()]
    summary = {
        "held_out_speaker": args.speaker,
        "validation_accuracy": {k: v["accuracy"] for k, v in trained["validation"].items()},
        "held_out_accuracy": tested["accuracy"],
        "split_log": split_lines,
        "seconds": round(time.monotonic() - t0, 1),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    v, h = summary["validation_accuracy"], summary["held_out_accuracy"]
    print(
        f"validation accuracy reported: float32 {v['float32']:.4f}, int8 {v['int8']:.4f}; "
        f"held-out speaker {args.speaker}: float32 {h['float32']:.4f}, int8 {h['int8']:.4f}"
    )
    for line in split_lines:
        print(f"  log: {line}")


if __name__ == "__main__":
    main()
