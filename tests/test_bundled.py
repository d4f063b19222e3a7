"""The bundled classic networks reproduce their published and PyTorch-measured figures."""

from __future__ import annotations

from fractions import Fraction

import pytest
from conftest import assert_totals_add_up

from cnncalc import analyse, load

MiB = 2**20


def test_lenet5() -> None:
    r = analyse(load("lenet5"))
    t = r.totals
    # conv1 (25·1+1)·20 + conv2 (25·20+1)·50 + ip1 (800+1)·500 + ip2 (500+1)·10
    assert t.params == 26 * 20 + 501 * 50 + 801 * 500 + 501 * 10 == 431_080
    assert t.param_bytes == 431_080 * 4 == 1_724_320
    assert round(t.param_bytes / MiB, 2) == 1.64
    # 24·24·20·25 + 8·8·50·500 + 800·500 + 500·10
    assert t.macs == 288_000 + 1_600_000 + 400_000 + 5_000 == 2_293_000
    pool2 = next(row for row in r.layers if row.name == "pool2")
    # 5 → pool +1·1 = 6 (jump 2) → conv +4·2 = 14 → pool +1·2 = 16
    assert pool2.rf.axes[0].size == 16 and pool2.rf.axes[0].jump == 4


def test_tiny_cnn() -> None:
    r = analyse(load("tiny_cnn"))
    rows = {row.name: row for row in r.layers}
    assert rows["conv1"].params == (3 * 3 * 3 + 1) * 16 == 448
    assert rows["conv1"].output_shape == (16, 32, 32)
    assert rows["pool1"].output_shape == (16, 16, 16)
    assert rows["conv2"].params == (3 * 3 * 16 + 1) * 8 == 1_160
    assert rows["conv2"].output_shape == (8, 16, 16)
    assert rows["pool2"].output_shape == (8, 8, 8)
    assert rows["fc1"].params == (512 + 1) * 32 == 16_416
    assert rows["fc2"].params == (32 + 1) * 2 == 66
    assert r.totals.params == 18_090
    # 3 → pool: 4 (jump 2) → conv: 4 + 2·2 = 8 → pool: 8 + 1·2 = 10
    assert rows["pool2"].rf.axes[0].size == 10


def test_alexnet_bvlc() -> None:
    r = analyse(load("alexnet_bvlc"))
    rows = {row.name: row for row in r.layers}
    assert r.totals.params == 60_965_224
    conv1 = rows["conv1"]
    assert conv1.output_shape == (96, 55, 55)
    assert conv1.macs == 11 * 11 * 3 * 96 * 55 * 55 == 105_415_200
    # the seed tutorial's 105,705,600 counts the bias adds too: one per output element
    assert conv1.macs + 96 * 55 * 55 == 105_705_600
    assert r.totals.macs == 724_406_816
    # 11 (j 4) → pool +2·4 = 19 (j 8) → conv5 +4·8 = 51 → pool +2·8 = 67 (j 16)
    # → three 3x3 convs +3·2·16 = 163 → pool +2·16 = 195 (j 32); using each layer's own stride
    # instead of the accumulated jump gives the seed tutorial's wrong 67
    pool5 = rows["pool5"].rf.axes[0]
    assert (pool5.size, pool5.jump) == (195, 32)


def test_alexnet_torchvision() -> None:
    t = analyse(load("alexnet")).totals
    assert t.params == 61_100_840
    assert t.macs == 714_188_480


def test_vgg16() -> None:
    r = analyse(load("vgg16"))
    assert r.totals.params == 138_357_544
    assert r.totals.macs == 15_470_264_320
    last_pool = [row for row in r.layers if row.type == "maxpool2d"][-1]
    assert last_pool.rf.axes[0].size == 212
    # 138,357,544 · 4 B = 527.8 MiB (the seed tutorial's "≈ 524 MB")
    assert round(r.totals.param_bytes / MiB, 1) == 527.8


def test_mobilenet_v1() -> None:
    r = analyse(load("mobilenet_v1"))
    assert r.totals.params == 4_231_976
    assert r.totals.buffers == 21_888
    assert r.totals.macs == 568_740_352
    assert r.totals.receptive_field is not None
    assert r.totals.receptive_field.axes[0].size == 315


@pytest.mark.parametrize("name", ["lenet5", "tiny_cnn", "alexnet_bvlc", "alexnet", "vgg16", "mobilenet_v1"])
def test_totals_equal_sum_of_rows(name: str) -> None:
    for dtype, batch in (("fp32", 1), ("fp16", 8)):
        assert_totals_add_up(analyse(load(name), dtype=dtype, batch=batch))


@pytest.mark.parametrize("dtype, size", [("fp32", 4), ("fp16", 2), ("bf16", 2), ("int8", 1)])
def test_parameter_memory_by_dtype(dtype: str, size: int) -> None:
    t = analyse(load("lenet5"), dtype=dtype, batch=4).totals
    assert t.param_bytes == 431_080 * size
    assert t.activation_bytes == t.activation_elements * size
    assert t.activation_bytes_batch == 4 * t.activation_bytes


def test_input_override() -> None:
    r = analyse(load("vgg16"), input_shape=(3, 256, 256))
    assert r.layers[0].output_shape == (64, 256, 256)
    # the adaptive pool brings 8x8 back to 7x7, so the classifier and the params are unchanged
    assert r.totals.params == 138_357_544


def test_start_of_first_unit() -> None:
    r = analyse(load("alexnet_bvlc"))
    conv1 = r.layers[0].rf.axes[0]
    # the first 11x11 window covers pixels 0..10: centre 5
    assert conv1.start == Fraction(5)
