"""MFCC and MFE over every FSDD recording: Tinyforge's blocks vs librosa configured the same.

Run:  .venv/bin/python bench/dsp.py [--limit N] [--repeat R]

Baseline, measured in the same run: librosa 0.11 with the same framing (256-sample rectangular
frames, 160-sample hop, no centring), power |STFT|^2/N, HTK mel filters without area
normalisation, natural log, orthonormal DCT-II, c0 := log frame energy (MFE: 10*log10 and the
same noise-floor mapping). Pre-emphasis off and win_size 0 so librosa can be configured
identically; librosa's mel triangles are evaluated at exact bin frequencies where Tinyforge's
are snapped to the bin grid, so features differ by a filter-shape term (python_speech_features,
timed too, has Tinyforge's filterbank and agrees to float32 rounding).

Every method runs with the same BLAS thread limit (default 1): with OpenBLAS's own threads a
small filterbank product can wait milliseconds for a second thread on a busy machine; feature
workers should run one BLAS thread per process (OPENBLAS_NUM_THREADS=1) for the same reason.

Printed: recordings/s for each, ratios, the max feature difference, peak RSS and RSS growth
across repeated passes (must stay ~0: memory may not grow with the recordings processed).
Not part of the test suite; no timing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io.wavfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.paths import FSDD_DIR  # noqa: E402
from workers.dsp import BLOCKS  # noqa: E402

RATE = 8000
MFCC_PARAMS = dict(
    frame_length=0.032,
    frame_stride=0.02,
    num_filters=32,
    fft_length=256,
    num_cepstral=13,
    win_size=0,
    pre_cof=0.0,
    low_frequency=0,
    high_frequency=0,
)
MFE_PARAMS = dict(
    frame_length=0.032,
    frame_stride=0.01,
    num_filters=40,
    fft_length=256,
    noise_floor_db=-52,
    pre_cof=0.0,
)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(limit: int | None) -> list[np.ndarray]:
    files = sorted(FSDD_DIR.glob("*.wav"))[:limit]
    if not files:
        sys.exit(f"no FSDD recordings under {FSDD_DIR}")
    out = []
    for f in files:
        rate, y = scipy.io.wavfile.read(f)
        if rate != RATE:
            raise SystemExit(f"{f.name}: expected {RATE} Hz, got {rate}")
        out.append(y)
    return out


# --- Tinyforge --------------------------------------------------------------------------------
def tinyforge_mfcc(y):
    b = BLOCKS["mfcc"]
    out = b.run(y.astype(np.float32)[None, :, None], frequency_hz=RATE, params=MFCC_PARAMS)
    return out.features.reshape(out.shape)


def tinyforge_mfe(y):
    b = BLOCKS["mfe"]
    out = b.run(y.astype(np.float32)[None, :, None], frequency_hz=RATE, params=MFE_PARAMS)
    return out.features.reshape(out.shape)


def tinyforge_mfcc_ei_defaults(y):
    b = BLOCKS["mfcc"]
    out = b.run(y.astype(np.float32)[None, :, None], frequency_hz=RATE, params={})
    return out.features


# --- baselines --------------------------------------------------------------------------------
def librosa_power(y, hop):
    import librosa

    s = librosa.stft(
        y.astype(np.float32) / 32768,
        n_fft=256,
        hop_length=hop,
        win_length=256,
        window="boxcar",
        center=False,
    )
    return np.abs(s) ** 2 / 256


def librosa_mfcc(y):
    import librosa

    power = librosa_power(y, 160)
    mel = librosa.feature.melspectrogram(
        S=power, sr=RATE, n_mels=32, fmin=0, fmax=RATE / 2, htk=True, norm=None
    )
    c = librosa.feature.mfcc(
        S=np.log(np.maximum(mel, 1e-30)), n_mfcc=13, dct_type=2, norm="ortho", lifter=0
    )
    c[0] = np.log(np.maximum(power.sum(0), 1e-30))
    return c.T


def librosa_mfe(y):
    import librosa

    mel = librosa.feature.melspectrogram(
        S=librosa_power(y, 80), sr=RATE, n_mels=40, fmin=0, fmax=RATE / 2, htk=True, norm=None
    )
    return np.clip((10 * np.log10(np.maximum(mel, 1e-30)) + 52) / 64, 0, 1).T


def psf_mfcc(y):
    import python_speech_features as psf

    n = 1 + (len(y) - 256) // 160
    return psf.mfcc(
        y / 32768.0,
        samplerate=RATE,
        winlen=0.032,
        winstep=0.02,
        numcep=13,
        nfilt=32,
        nfft=256,
        preemph=0.0,
        ceplifter=0,
        appendEnergy=True,
    )[:n]


def timed(methods: dict, recordings, repeat, chunk=100) -> dict[str, float]:
    """recordings/s per method. The recordings are cut into chunks of `chunk`; every method runs
    each chunk `repeat` times, interleaved with the others, and the fastest run of each chunk
    counts. On a shared machine this keeps load bursts from favouring one side."""
    total = dict.fromkeys(methods, 0.0)
    for s in range(0, len(recordings), chunk):
        part = recordings[s : s + chunk]
        best = dict.fromkeys(methods, float("inf"))
        for _ in range(repeat):
            for name, fn in methods.items():
                t = time.perf_counter()
                fn(part)
                best[name] = min(best[name], time.perf_counter() - t)
        for name in methods:
            total[name] += best[name]
    return {name: len(recordings) / t for name, t in total.items()}


def each(fn):
    """A method that calls `fn` once per recording."""

    def run(part):
        for y in part:
            fn(y)

    return run


def length_sorted_batches(recordings, batch: int = 64):
    """Indices sorted by length, in batches; each batch is zero-padded to its longest recording."""
    order = sorted(range(len(recordings)), key=lambda i: len(recordings[i]))
    return [order[i : i + batch] for i in range(0, len(order), batch)]


def tinyforge_mfcc_batched(part, batch: int = 64):
    """Many recordings per block call: sort by length, pad each batch to its longest, drop the
    frames that reach into the padding. Frames never straddle two recordings, pre-emphasis is
    causal and win_size is 0, so every recording's features equal those of its own call
    (to float32 rounding: BLAS blocks a larger product differently)."""
    b = BLOCKS["mfcc"]
    out = [None] * len(part)
    for idx in length_sorted_batches(part, batch):
        n = max(len(part[i]) for i in idx)
        windows = np.zeros((len(idx), n, 1), np.float32)
        for row, i in enumerate(idx):
            windows[row, : len(part[i]), 0] = part[i]
        res = b.run(windows, frequency_hz=RATE, params=MFCC_PARAMS)
        feats = res.features.reshape(len(idx), *res.shape)
        for row, i in enumerate(idx):
            out[i] = feats[row, : 1 + (len(part[i]) - 256) // 160]
    return out


def librosa_mfcc_batched(part, batch: int = 64):
    """librosa given the same batches (its functions accept [..., samples])."""
    import librosa

    out = [None] * len(part)
    for idx in length_sorted_batches(part, batch):
        n = max(len(part[i]) for i in idx)
        y = np.zeros((len(idx), n), np.float32)
        for row, i in enumerate(idx):
            y[row, : len(part[i])] = part[i] / 32768
        s = librosa.stft(
            y, n_fft=256, hop_length=160, win_length=256, window="boxcar", center=False
        )
        power = np.abs(s) ** 2 / 256
        mel = librosa.feature.melspectrogram(
            S=power, sr=RATE, n_mels=32, fmin=0, fmax=RATE / 2, htk=True, norm=None
        )
        c = librosa.feature.mfcc(S=np.log(np.maximum(mel, 1e-30)), n_mfcc=13, lifter=0)
        c[:, 0] = np.log(np.maximum(power.sum(1), 1e-30))
        for row, i in enumerate(idx):
            out[i] = c[row, :, : 1 + (len(part[i]) - 256) // 160].T
    return out


def max_diff(a_fn, b_fn, recordings, skip_c0=False):
    d = 0.0
    for y in recordings:
        a, b = a_fn(y), b_fn(y)
        assert a.shape == b.shape, (a.shape, b.shape)
        if skip_c0:
            a, b = a[:, 1:], b[:, 1:]
        d = max(d, float(np.abs(a - b).max()))
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N recordings")
    ap.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help=(
            "BLAS threads for every method (1: small products pay no thread wake-ups; 0: leave "
            "as is)"
        ),
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each chunk per method (best kept)"
    )
    args = ap.parse_args()

    import librosa
    import python_speech_features  # noqa: F401

    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads)
    recs = load(args.limit)
    secs = sum(len(y) for y in recs) / RATE
    print(
        f"FSDD: {len(recs)} recordings, {secs:.0f} s of audio at {RATE} Hz; librosa "
        f"{librosa.__version__}, numpy {np.__version__}; BLAS threads: "
        f"{args.blas_threads or 'default'}; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    for fn in (
        tinyforge_mfcc,
        tinyforge_mfe,
        librosa_mfcc,
        librosa_mfe,
        psf_mfcc,
    ):  # warm caches / imports
        fn(recs[0])

    batched = tinyforge_mfcc_batched(recs)
    for y, f in zip(recs, batched, strict=True):  # batching changes nothing beyond BLAS rounding
        np.testing.assert_allclose(f, tinyforge_mfcc(y), atol=1e-4)
    for y, f in zip(recs[:50], librosa_mfcc_batched(recs[:50]), strict=True):
        np.testing.assert_allclose(f, librosa_mfcc(y), atol=1e-3)

    rss0 = rss_mb()
    r = timed(
        {
            "tinyforge": each(tinyforge_mfcc),
            "tinyforge_batched": tinyforge_mfcc_batched,
            "librosa": each(librosa_mfcc),
            "librosa_batched": librosa_mfcc_batched,
            "psf": each(psf_mfcc),
            "tinyforge_ei": each(tinyforge_mfcc_ei_defaults),
        },
        recs,
        args.repeat,
    )
    rss1 = rss_mb()
    m = timed({"tinyforge": each(tinyforge_mfe), "librosa": each(librosa_mfe)}, recs, args.repeat)
    # RSS after each further pass over every recording through our blocks: must stay flat
    series = []
    for _ in range(4):
        each(tinyforge_mfcc)(recs)
        each(tinyforge_mfe)(recs)
        each(tinyforge_mfcc_ei_defaults)(recs)
        tinyforge_mfcc_batched(recs)
        gc.collect()
        series.append(rss_mb())

    d_lb = max_diff(tinyforge_mfcc, librosa_mfcc, recs)
    d_lb_c = max_diff(tinyforge_mfcc, librosa_mfcc, recs, skip_c0=True)
    d_ps = max_diff(tinyforge_mfcc, psf_mfcc, recs)
    d_mfe = max_diff(tinyforge_mfe, librosa_mfe, recs)

    lb = r["librosa"]
    print("\nMFCC (13 x 32 filters, 256-sample frames, hop 160, FFT 256), recordings/s:")
    print(f"  librosa, one call per recording            {lb:8.0f}   (baseline)")
    print(f"  python_speech_features, one call per rec.  {r['psf']:8.0f}   {r['psf'] / lb:5.1f}x")
    print(
        f"  tinyforge, one call per recording          {r['tinyforge']:8.0f}   "
        f"{r['tinyforge'] / lb:5.1f}x"
    )
    print(
        f"  tinyforge, 64 recordings per call          {r['tinyforge_batched']:8.0f}   "
        f"{r['tinyforge_batched'] / lb:5.1f}x   <- how the feature job calls it"
    )
    print(
        f"  librosa, the same 64-recording batches     {r['librosa_batched']:8.0f}   "
        f"{r['librosa_batched'] / lb:5.1f}x   (tinyforge batched / librosa batched = "
        f"{r['tinyforge_batched'] / r['librosa_batched']:.1f}x)"
    )
    print(
        f"  tinyforge, Edge Impulse defaults (160-sample frames, CMVN 101), per recording: "
        f"{r['tinyforge_ei']:8.0f}"
    )
    print(f"  max |diff| vs python_speech_features (same filterbank): {d_ps:.2e}")
    print(
        f"  max |diff| vs librosa (its own HTK filters): {d_lb:.3f} (c1..c12 {d_lb_c:.3f}): filter "
        "shape, see docs/dsp.md"
    )
    print("\nMFE (40 filters, hop 80, noise floor -52 dB), one call per recording:")
    print(
        f"  tinyforge {m['tinyforge']:8.0f} rec/s, librosa {m['librosa']:8.0f} rec/s, "
        f"ratio {m['tinyforge'] / m['librosa']:5.1f}x; max |diff| {d_mfe:.3f} (0..1 scale, filter "
        "shape)"
    )
    growth = series[-1] - series[0]
    print(
        f"\nmemory: RSS {rss0:.0f} MB before timing, {rss1:.0f} MB after it; after each further "
        f"pass of all {len(recs)} recordings through MFCC, MFE, MFCC (EI defaults) and batched "
        "MFCC: "
        + ", ".join(f"{v:.1f}" for v in series)
        + f" MB; growth from pass 1 to {len(series)}: {growth:+.1f} MB; peak RSS "
        f"{peak_rss_mb():.0f} MB -> "
        f"{'flat, does not grow with the recordings processed' if growth < 2 else 'GROWS'}"
    )


if __name__ == "__main__":
    main()
