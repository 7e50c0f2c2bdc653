"""Deployment page: presets from the deployment targets, field errors, untrained blocks, the list of
builds."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def impulse_id(settings, user_project):
    from app.core.db import session_scope
    from app.schemas.impulses import ImpulseCreate
    from app.services import impulses

    with session_scope(settings) as s:
        return impulses.create_impulse(
            s,
            user_project.project.id,
            ImpulseCreate.model_validate(
                {
                    "input": {"type": "time-series", "frequency_hz": 8000},
                    "dsp": [{"block": "mfcc"}],
                    "learn": [{"id": 100, "type": "classification"}],
                }
            ),
        ).id


def test_no_impulse_points_to_impulse_design(browser, user_project):
    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/deployment").text
    assert f'href="/projects/{pid}/impulse"' in page


def test_form_offers_every_board_and_target_and_says_untrained(browser, user_project, impulse_id):
    from workers.deploy.targets import BOARDS, TARGETS

    pid = user_project.project.id
    page = browser.client.get(f"/projects/{pid}/deployment").text
    for i, board in enumerate(BOARDS):
        assert f'<option value="board:{i}"' in page and board.name.replace('"', "&#34;") in page
    for name in TARGETS:
        assert f'<option value="target:{name}"' in page
    assert '<option value="target:linux-x86_64" selected>' in page
    assert "not trained yet" in page and 'id="start-build" disabled' in page
    assert '<select id="d-optimize" name="optimize"' in page
    assert '<option value="speed" selected>speed</option><option value="ram">ram</option>' in page


def test_bad_engine_and_untrained_block_are_reported_without_a_job(
    browser, user_project, impulse_id, client
):
    pid = user_project.project.id
    url = f"/projects/{pid}/deployment/{impulse_id}/100"
    r = browser.post(url, {"preset": "board:0", "engine": "turbo", "model_type": "int8"})
    assert r.status_code == 400
    assert re.search(r'id="d-engine-error">engine &#39;turbo&#39; is not known', r.text)
    r = browser.post(url, {"preset": "nowhere", "engine": "compiled", "model_type": "int8"})
    assert r.status_code == 400 and 'id="d-preset-error">choose a board or a target' in r.text
    r = browser.post(
        url,
        {"preset": "board:0", "engine": "tflite-micro", "model_type": "int8", "optimize": "ram"},
    )
    assert r.status_code == 400
    assert 'id="d-optimize-error">optimize &#39;ram&#39; applies to the compiled engine' in r.text
    assert '<option value="ram" selected>ram</option>' in r.text
    r = browser.post(
        url, {"preset": "target:cortex-m4f", "engine": "compiled", "model_type": "int8"}
    )
    assert r.status_code == 409 and "has no trained model yet: train it first" in r.text
    assert 'value="target:cortex-m4f" selected' in r.text
    assert client.get(f"/api/{pid}/jobs").json()["jobs"] == []


def test_builds_are_listed_with_figures_and_download_link(
    browser, user_project, impulse_id, settings
):
    from app.core.db import session_scope
    from app.models import Artifact

    pid = user_project.project.id
    meta = {
        "request": {"target": "cortex-m4f", "engine": "compiled", "modelType": "int8"},
        "bit_exact": True,
        "flash_bytes": 40960,
        "ram_bytes": 9216,
        "instructions": 1234567,
        "arena_bytes": 8000,
        "weights_bytes": 20000,
        "ops": ["CONV_2D", "SOFTMAX"],
        "verification": {"bit_exact": True, "impulse": {"same_class": 1.0}},
    }
    with session_scope(settings) as s:
        s.add(
            Artifact(
                project_id=pid,
                impulse_id=impulse_id,
                kind="deployment",
                name="lib.zip",
                blob_key="projects/x/lib.zip",
                size_bytes=2048,
                sha256="0" * 64,
                meta=meta,
            )
        )
    page = browser.client.get(f"/projects/{pid}/deployment").text
    aid = re.search(r'artifactId=(\d+)" download>lib.zip', page).group(1)
    block = page[page.index(f'id="build-{aid}"') :]
    assert (
        "bit-exact" in block and "40.0 KiB" in block and "9.0 KiB" in block and "1,234,567" in block
    )
    assert "classifies 100.0% of the test windows" in block and "CONV_2D, SOFTMAX" in block


def test_the_chosen_board_is_preselected_again_and_shown_on_its_library(
    browser, user_project, impulse_id, settings
):
    from app.core.db import session_scope
    from app.models import Artifact, Job
    from workers.deploy.targets import BOARDS

    pid = user_project.project.id
    i, board = 2, BOARDS[2]
    assert i != 0 and board.name != user_project.project.target_board
    params = {"impulseId": impulse_id, "learnId": 100, "engine": "compiled"}
    with session_scope(settings) as s:
        s.add(
            Job(
                project_id=pid,
                kind="build",
                status="succeeded",
                params={
                    **params,
                    "modelType": "float32",
                    "target": board.target,
                    "board": board.name,
                    "type": "zip",
                },
            )
        )
        s.add(
            Artifact(
                project_id=pid,
                impulse_id=impulse_id,
                kind="deployment",
                name="lib.zip",
                blob_key="projects/x/lib.zip",
                size_bytes=2048,
                sha256="0" * 64,
                meta={"request": {**params, "target": board.target, "board": board.name}},
            )
        )
    page = browser.client.get(f"/projects/{pid}/deployment").text
    assert f'<option value="board:{i}" selected>' in page
    assert '<option value="float32" selected>' in page
    card = page[page.index('class="build"') :]
    shown = re.search(r'<dd class="small build-board">([^<]+)</dd>', card)
    assert shown and shown.group(1) == board.name.replace('"', "&#34;")


def _usage_panel(page: str) -> str:
    return page[page.index('id="library-usage"') :]


def _show_library(settings, store, pid, impulse_id, lib, root) -> tuple[str, bytes]:
    from app.core.db import session_scope
    from app.services import artifacts
    from workers.deploy.package import zip_library

    data = zip_library(lib, root=root)
    with session_scope(settings) as s:
        artifacts.save_deployment(
            s,
            store,
            project_id=pid,
            impulse_id=impulse_id,
            job_id=None,
            name=f"{root}.zip",
            data=data,
            meta={**lib.manifest, "request": {"target": lib.manifest["target"]}},
        )
    return f"{root}.zip", data


def _unescape(text: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_how_to_use_names_what_the_library_holds_and_its_make_lines_compile(
    browser, user_project, impulse_id, settings, store, tmp_path
):
    import io
    import subprocess
    import zipfile
    from pathlib import Path

    from tests.paths import MODELS_DIR, require_shared
    from workers.deploy.package import build_library

    kws = (require_shared(MODELS_DIR) / "kws_ref_model.tflite").read_bytes()
    lib = build_library(kws, target="linux-x86_64")
    pid = user_project.project.id
    zip_name, data = _show_library(settings, store, pid, impulse_id, lib, "tinyforge-kws-linux")
    panel = _usage_panel(browser.client.get(f"/projects/{pid}/deployment").text)
    assert zip_name in panel
    cmake = _unescape(re.search(r'<pre class="usage-cmake">(.*?)</pre>', panel, re.S).group(1))
    assert "add_subdirectory(tinyforge-kws-linux)" in cmake
    target = re.search(r"target_link_libraries\(your_app PRIVATE (\w+)\)", cmake).group(1)
    assert f"add_library({target} STATIC" in lib.files["CMakeLists.txt"].decode()
    assert "no example sketch" in panel  # a model alone: no .ino in this zip

    # the Make lines, as a user pastes them, compile the library's sources
    make = _unescape(re.search(r'<pre class="usage-make">(.*?)</pre>', panel, re.S).group(1))
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    make = make.replace("\\\n", " ")  # continued lines
    lines = dict(ln.split("+=" if "+=" in ln else "=", 1) for ln in make.splitlines())
    root = lines["TINYFORGE "].strip()
    expand = lambda v: v.replace("$(TINYFORGE)", str(tmp_path / root)).split()  # noqa: E731
    srcs, cflags = expand(lines["SRCS     "]), expand(lines["CFLAGS   "])
    assert srcs and all(Path(s).is_file() for s in srcs), srcs
    header = re.search(r'#include "([^"]+)"', _unescape(panel)).group(1)
    assert (tmp_path / root / "src" / header).is_file()
    main = tmp_path / "main.c"
    main.write_text(f'#include "{header}"\nint main(void) {{ return 0; }}\n')
    subprocess.run(
        ["cc", *cflags, "-Wall", "-Werror", "-o", str(tmp_path / "app"), str(main), *srcs, "-lm"],
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_how_to_use_an_impulse_library_opens_its_arduino_sketch(
    browser, user_project, impulse_id, settings, store
):
    import io
    import zipfile

    from tests.workers.deploy.package.motion_impulse import motion_impulse
    from workers.deploy.package import build_library

    m = motion_impulse()
    lib = build_library(m.tflite, target="cortex-m4f", impulse=m.spec, title="motion")
    pid = user_project.project.id
    _, data = _show_library(settings, store, pid, impulse_id, lib, "tinyforge-motion-cortex-m4f")
    panel = _usage_panel(browser.client.get(f"/projects/{pid}/deployment").text)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    sketches = re.findall(r'<code class="usage-sketch">([^<]+)</code>', panel)
    assert sketches and all(f"tinyforge-motion-cortex-m4f/{s}" in names for s in sketches)
    assert "library.properties" in lib.files  # what Add .ZIP Library reads
    assert "tinyforge_run_classifier(window, &amp;result)" in panel
    assert "tinyforge_run_classifier" in lib.files["src/tinyforge_classifier.h"].decode()
