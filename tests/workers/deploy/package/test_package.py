"""Packaging: the library builds from its own Makefile, the zip is deterministic and safe, errors
are clear."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import zipfile

import numpy as np
import pytest

from tests.paths import MODELS_DIR, require_shared
from workers.deploy import CompileError
from workers.deploy.package import _check_fits, build_library, write_library, zip_library
from workers.deploy.package.verify import reference_outputs
from workers.deploy.targets import get_target


@pytest.fixture(scope="module")
def kws() -> bytes:
    return (require_shared(MODELS_DIR) / "kws_ref_model.tflite").read_bytes()


def test_make_builds_example_that_matches_the_interpreter(kws, tmp_path):
    lib = build_library(kws, target="linux-x86_64")
    write_library(lib, tmp_path)
    subprocess.run(["make", "-C", str(tmp_path)], check=True, capture_output=True)
    inputs = np.random.default_rng(1).integers(-128, 128, size=(5, 49, 10, 1), dtype=np.int8)
    out = subprocess.run(
        [str(tmp_path / "example")], input=inputs.tobytes(), capture_output=True, check=True
    ).stdout
    assert out == b"".join(reference_outputs(kws, inputs))
    for name in (
        "README.md",
        "manifest.json",
        "CMakeLists.txt",
        "library.properties",
        "examples/main.c",
    ):
        assert (tmp_path / name).is_file(), name


def test_cmake_builds_the_library(kws, tmp_path):
    lib = build_library(kws, target="linux-x86_64")
    write_library(lib, tmp_path / "lib")
    build = tmp_path / "build"
    subprocess.run(
        ["cmake", "-S", str(tmp_path / "lib"), "-B", str(build)], check=True, capture_output=True
    )
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    assert (build / "example").exists()


def test_zip_is_byte_identical_and_stays_inside_its_root(kws):
    a = zip_library(build_library(kws, target="cortex-m4f"), root="kws-m4f")
    b = zip_library(build_library(kws, target="cortex-m4f"), root="kws-m4f")
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        names = zf.namelist()
        assert names == sorted(names) and all(
            n.startswith("kws-m4f/") and ".." not in n for n in names
        )
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
    with pytest.raises(CompileError, match="outside"):
        zip_library(build_library(kws, target="linux-x86_64"), root="../evil")


def test_tflite_micro_export_holds_the_model_byte_for_byte(kws):
    import re

    lib = build_library(kws, target="cortex-m4f", engine="tflite-micro")
    src = lib.files["src/tinyforge_model_tflite.c"].decode()
    assert bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", src.split("{", 1)[1])) == kws
    cc = lib.files["src/tinyforge_tflm_model.cc"].decode()
    assert "MicroMutableOpResolver<6>" in cc and "resolver.AddDepthwiseConv2D();" in cc
    m = lib.manifest
    assert m["arena_bytes"] >= m["tflm_arena_measured_bytes"] * 1.1 - 16


def test_bad_inputs_are_clear_errors(kws):
    with pytest.raises(CompileError, match="engine"):
        build_library(kws, target="linux-x86_64", engine="onnx")
    with pytest.raises(ValueError, match="target"):
        build_library(kws, target="cortex-m99")
    with pytest.raises(CompileError):
        build_library(kws[:200], target="linux-x86_64")
    with pytest.raises(CompileError, match="not a valid C identifier"):
        build_library(kws, target="linux-x86_64", prefix="no spaces ")
    tiny = dataclasses.replace(get_target("cortex-m0plus"), ram_bytes=4096, flash_bytes=8192)
    lib = build_library(kws, target="linux-x86_64")
    with pytest.raises(CompileError, match=r"needs about \d+ bytes of RAM .* has 4096"):
        _check_fits(tiny, lib.compiled, lib.manifest)
    roomy = dataclasses.replace(tiny, ram_bytes=10**6)
    with pytest.raises(CompileError, match=r"weights take 24368 bytes but .* 8192 bytes of flash"):
        _check_fits(roomy, lib.compiled, lib.manifest)
