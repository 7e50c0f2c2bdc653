import pytest

from workers.tune import space as S
from workers.tune.cost import BoardError, limits_for, violations


@pytest.mark.parametrize("kind", S.KINDS)
def test_default_spaces_are_valid_and_give_buildable_candidates(kind):
    space = S.narrow(kind, None)
    assert S.size(space) > 10
    points = S.sample_points(space, 12, seed=3)
    assert len(points) == 12
    assert len({tuple(p.items()) for p in points}) == 12
    built = 0
    for p in points:
        try:
            imp = S.impulse_for(
                kind,
                p,
                source_hz=62.5 if kind == "motion" else 8000,
                n_axes=3 if kind == "motion" else 1,
            )
        except S.SpaceError:
            continue
        built += 1
        assert imp["dsp"]["block"] == p["dsp"]
        assert imp["learn"]["layers"][-1]["type"] in ("flatten", "global_avg_pool", "dense")
    assert built >= 10


def test_dsp_dimensions_come_from_the_blocks_declarations():
    with pytest.raises(S.SpaceError, match=r"space.dsp.fft_length: spectral: .*power of two"):
        S.narrow("motion", {"dsp.fft_length": [100]})
    with pytest.raises(S.SpaceError, match="has a parameter 'bogus'"):
        S.narrow("motion", {"dsp.bogus": [1]})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ([1], "must be an object"),
        ({"width": []}, r"space.width: must be a non-empty list"),
        ({"width": [0]}, r"space.width: got 0; each value must be an integer in \[1, 512\]"),
        ({"depth": [1.5]}, "must be an integer"),
        ({"network": ["resnet"]}, "space.network: got 'resnet'; choose from"),
        ({"dsp": ["mfcc"]}, "for motion data choose from"),
        ({"colour": ["rgb"]}, "unknown dimension 'colour'"),
        ({"width": [8, 8]}, "listed twice"),
        ({"network": None}, "only dsp.<parameter> dimensions can be removed"),
    ],
)
def test_bad_overrides_are_refused_with_the_reason(override, message):
    with pytest.raises(S.SpaceError, match=message):
        S.narrow("motion", override)


def test_narrowing_fixes_and_widening_adds_values():
    space = S.narrow("motion", {"dsp": ["raw"], "width": [4, 64], "depth": [2]})
    assert space["dsp"] == ["raw"]
    assert not any(k.startswith("dsp.") for k in space)  # raw declares none of them
    assert space["width"] == [4, 64]
    points = S.sample_points(space, 100)
    assert {p["width"] for p in points} == {4, 64}
    assert {p["depth"] for p in points} == {2}


def test_network_families_match_the_default_ds_cnn():
    layers = S.network_layers("ds_cnn", width=32, depth=3, input_shape=(50, 13))
    assert [ly["type"] for ly in layers].count("ds_conv2d") == 3
    micro = S.network_layers("micronet", width=8, depth=4, input_shape=(50, 13))
    assert [ly["filters"] for ly in micro if ly["type"] == "ds_conv2d"] == [8, 16, 16, 32]
    with pytest.raises(S.SpaceError, match="does not read features shaped"):
        S.network_layers("ds_cnn", width=8, depth=1, input_shape=(30,))


def test_limits_default_to_the_board_and_violations_say_why():
    lim = limits_for("Arduino Nano 33 BLE Sense", max_latency_ms=10)
    assert lim.max_ram_bytes == 256 * 1024 and lim.max_flash_bytes == 1024 * 1024
    bad = violations({"latency_ms": 12.5, "ram_bytes": 300_000, "flash_bytes": 10}, lim)
    assert bad == [
        "latency 12.50 ms > 10 ms on Arduino Nano 33 BLE Sense",
        "RAM 300,000 B > 262,144 B",
    ]
    with pytest.raises(BoardError, match="valid boards"):
        limits_for("Arduino Uno")
