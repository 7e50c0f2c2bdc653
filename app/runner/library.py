"""Find the Linux runner in what the user points at: a library folder, its zip, or a model.eim file.

A library's own model.eim runs when it was built for this machine (or under QEMU user-mode emulation
for the other architecture, when installed); otherwise the runner is compiled for this machine from
the library's sources in a scratch folder, so the library itself is never changed.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from workers.deploy.package.eim import (
    EIM_DIR,
    EIM_NAME,
    EimError,
    build_eim,
    elf_target,
    host_target,
    launcher_for,
)

LINUX_TARGETS = ("linux-x86_64", "linux-aarch64")


class RunnerNotFound(Exception):
    """What was given holds no runner this machine can run; the message says why and what to do."""


@dataclass
class Runner:
    eim: Path
    launcher: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None  # the library's manifest.json, when there is one
    note: str = ""  # how the runner was found or made, for the user


def find_runner(path: Path, scratch: Path) -> Runner:
    """The runner for `path` (folder, .zip or .eim); `scratch` is an empty folder this may use.
    RunnerNotFound naming the problem otherwise."""
    path = Path(path)
    if not path.exists():
        raise RunnerNotFound(f"{path} does not exist")
    if path.is_dir():
        return _from_folder(path, scratch)
    if zipfile.is_zipfile(path):
        return _from_folder(_unzip(path, scratch / "zip"), scratch)
    return _from_executable(path)


def _from_executable(path: Path, manifest: dict[str, Any] | None = None) -> Runner:
    built_for = elf_target(path)
    if built_for is None:
        raise RunnerNotFound(
            f"{path} is not a Linux runner (not a 64-bit x86-64 or aarch64 executable): give a "
            "library folder, its zip, or its model.eim"
        )
    if built_for == host_target():
        return Runner(path, manifest=manifest)
    try:
        launcher = launcher_for(built_for)
    except EimError as exc:
        raise RunnerNotFound(f"{path} is a {built_for} executable: {exc}") from exc
    return Runner(
        path, launcher, manifest, note=f"running the {built_for} runner under {launcher[0]}"
    )


def _from_folder(folder: Path, scratch: Path) -> Runner:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise RunnerNotFound(f"{folder} is not a Tinyforge library (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as exc:
        raise RunnerNotFound(f"{manifest_path} is not valid JSON: {exc}") from exc
    target = manifest.get("target")
    if target not in LINUX_TARGETS:
        raise RunnerNotFound(
            f"{folder} was built for {target}: run-impulse runs Linux builds "
            f"({', '.join(LINUX_TARGETS)}); build the impulse for linux-x86_64 (or linux-aarch64 "
            "on a Raspberry Pi) and run that"
        )
    if not manifest.get("labels") or not (folder / EIM_DIR).is_dir():
        raise RunnerNotFound(
            f"{folder} holds a model without an impulse (no DSP, no labels): run-impulse runs "
            "libraries built from a trained impulse"
        )
    shipped = folder / EIM_NAME
    if shipped.is_file() and elf_target(shipped) in (host_target(), target):
        try:
            if (
                not shipped.stat().st_mode & 0o111
            ):  # zips extracted by tools that drop the mode bits
                shipped = _copy_executable(shipped, scratch / EIM_NAME)
            return _from_executable(shipped, manifest)
        except RunnerNotFound:
            pass  # another architecture and no emulator: build one for this machine below
    here = host_target()
    if here is None:
        raise RunnerNotFound(
            "this machine is neither x86-64 nor aarch64 Linux: copy the library to one and "
            "run `make model.eim` there"
        )
    build_dir = scratch / "build"
    shutil.copytree(
        folder, build_dir, ignore=shutil.ignore_patterns(EIM_NAME, "example", "classify")
    )
    try:
        exe = build_eim(build_dir, target=here, static=False)
    except EimError as exc:
        raise RunnerNotFound(str(exc)) from exc
    return Runner(
        exe, manifest=manifest, note=f"built the runner for {here} from the library's sources"
    )


def _copy_executable(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(0o755)
    return dest


def _unzip(path: Path, dest: Path) -> Path:
    """Extract a library zip (entries only inside `dest`, mode bits kept); the folder holding
    manifest.json."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            rel = PurePosixPath(info.filename)
            if rel.is_absolute() or ".." in rel.parts:
                raise RunnerNotFound(
                    f"{path} has an entry outside its folder ({info.filename}): not extracting it"
                )
            target = dest.joinpath(*rel.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            if (info.external_attr >> 16) & 0o111:
                target.chmod(0o755)
    manifests = sorted(dest.rglob("manifest.json"), key=lambda p: len(p.parts))
    if not manifests:
        raise RunnerNotFound(f"{path} is not a Tinyforge library zip (no manifest.json inside)")
    return manifests[0].parent
