"""`cl.summary`: hand counts from the seeds, shared parameters, memory of the actual arrays."""

import math
import re

import numpy as np
import pytest

import convlens as cl
from convlens.inspect.receptive_field import receptive_fields
from convlens.inspect.summary import cached_arrays, format_bytes, summary


def test_seed_000_counts():
    s = summary(cl.models.get_model("seed_net"), (1, 28, 28), print_table=False)
    # seed 000: 5x5x10 = 250, 5x5x10x20 = 5,000, 320x100 = 32,000, 100x10 = 1,000 weights
    weights = {name: n for name, n in s.param_names.items() if name.endswith(".weight")}
    assert weights == {"0.weight": 5 * 5 * 10, "3.weight": 5 * 5 * 10 * 20,
                       "7.weight": 4 * 4 * 20 * 100, "9.weight": 100 * 10}
    assert s.total_weights == 38_250
    assert s.total_biases == 10 + 20 + 100 + 10
    assert s.total_params == s.trainable_params == 38_390
    assert s.non_trainable_params == 0
    assert [r.params for r in s.rows] == [260, 0, 0, 5_020, 0, 0, 0, 32_100, 0, 1_010]
    text = str(s)
    assert "38,390 (38,250 weights + 140 biases)" in text


def test_lenet5_modern_counts_and_shapes():
    s = summary(cl.models.get_model("lenet5"), (1, 28, 28), batch_size=3, print_table=False)
    assert s.total_params == 61_706
    assert [r.output_shape for r in s.rows] == [
        (3, 6, 28, 28), (3, 6, 28, 28), (3, 6, 14, 14), (3, 16, 10, 10), (3, 16, 10, 10),
        (3, 16, 5, 5), (3, 400), (3, 120), (3, 120), (3, 84), (3, 84), (3, 10)]
    assert s.output_shape == (3, 10) and s.input_shape == (3, 1, 28, 28)
    first = s.rows[0]
    assert (first.kernel, first.stride, first.padding) == ((5, 5), (1, 1), ((2, 2), (2, 2)))
    assert s["7"].type == "Linear" and s["7"].params == 400 * 120 + 120


def test_shared_parameters_are_counted_once():
    conv = cl.Conv2d(2, 2, 3, padding=1)
    model = cl.Sequential(conv, cl.ReLU(), conv, cl.Flatten(), cl.Linear(2 * 5 * 5, 3))
    s = summary(model, (2, 5, 5), print_table=False)
    assert s.total_params == model.num_parameters() == (2 * 2 * 9 + 2) + (50 * 3 + 3)
    first, second = s.rows[0], s.rows[2]
    assert first.params == 38 and second.params == 0 and second.shared_with == "0"
    assert second.param_bytes == 0 and first.param_bytes == conv.weight.data.nbytes + conv.bias.data.nbytes
    assert second.receptive_field == (5, 5)  # the second call sees further
    assert "(shared: 0)" in str(s)


def test_frozen_parameters_and_buffers():
    model = cl.Sequential(cl.Conv2d(1, 4, 3), cl.BatchNorm2d(4), cl.ReLU())
    model[0].bias.requires_grad = False
    s = summary(model, (1, 6, 6), print_table=False)
    assert (s.trainable_params, s.non_trainable_params) == (36 + 8, 4)
    assert s.rows[0].non_trainable == 4 and "(4 frozen)" in str(s)
    bn = model[1]
    buffers = bn.running_mean.nbytes + bn.running_var.nbytes + bn.num_batches_tracked.nbytes
    assert s.rows[1].param_bytes == bn.weight.data.nbytes + bn.bias.data.nbytes + buffers


def test_memory_is_measured_from_the_arrays():
    model = cl.models.get_model("seed_net")
    s = summary(model, (1, 28, 28), batch_size=2, print_table=False)
    # our own forward pass of the same batch shape, measured layer by layer
    x = np.zeros((2, 1, 28, 28), np.float32)
    outputs = []
    for layer in model.layers:
        x = layer(x)
        outputs.append(x)
    conv, relu, pool = model.layers[:3]
    assert s.rows[0].activation_bytes == outputs[0].nbytes == 2 * 10 * 24 * 24 * 4
    # no padding: the convolution keeps its input itself (counted as the input), not the
    # 25-times larger im2col columns
    assert conv._cache.x.shape == (2, 1, 28, 28)
    assert s.rows[0].cache_bytes == 0 and s.rows[0].cache_kept_bytes == 2 * 28 * 28 * 4
    assert s.rows[1].cache_bytes == relu._cache.nbytes == 2 * 10 * 24 * 24  # one byte per mask value
    assert s.rows[2].cache_bytes == pool._cache.winner.nbytes == 2 * 10 * 12 * 12  # uint8 winners
    # Flatten's output is a view of the pooled maps, and Linear keeps that same input:
    # nothing new to count
    assert s.rows[6].activation_bytes == 0 and s.rows[7].cache_bytes == 0
    assert s.rows[7].cache_kept_bytes == outputs[5].nbytes == 2 * 320 * 4
    assert "(view)" in str(s) and "(shared)" in str(s)
    assert s.input_bytes == 2 * 28 * 28 * 4
    assert s.param_bytes == 38_390 * 4
    assert s.activation_bytes == sum(r.activation_bytes for r in s.rows)
    assert s.cache_bytes == sum(r.cache_bytes for r in s.rows)
    assert s.total_bytes == s.input_bytes + s.param_bytes + s.activation_bytes + s.cache_bytes
    wide = summary(model, (1, 28, 28), batch_size=4, print_table=False)
    assert wide.rows[0].cache_bytes == 2 * s.rows[0].cache_bytes
    assert wide.param_bytes == s.param_bytes


def test_cached_arrays_count_views_once():
    layer = cl.Linear(4, 2)
    x = np.ones((3, 4), np.float32)
    layer(x)
    arrays = cached_arrays(layer)
    assert any(a is x for a in arrays)
    assert not any(np.shares_memory(a, layer.weight.data) for a in arrays)  # parameters excluded


def test_mult_adds():
    s = summary(cl.models.get_model("seed_net"), (1, 28, 28), batch_size=5, print_table=False)
    conv1 = 24 * 24 * 10 * (1 * 5 * 5)
    conv2 = 8 * 8 * 20 * (10 * 5 * 5)
    assert [r.mult_adds for r in s.rows if r.mult_adds] == [conv1, conv2, 320 * 100, 100 * 10]
    assert s.total_mult_adds == conv1 + conv2 + 32_000 + 1_000  # per example
    grouped = summary(cl.Conv2d(4, 8, 3, groups=2), (4, 5, 5), print_table=False)
    assert grouped.total_mult_adds == 3 * 3 * 8 * (2 * 3 * 3)


def test_receptive_field_columns_match_the_receptive_field_module():
    model = cl.Sequential(cl.Conv2d(1, 2, 3, stride=2, padding=1), cl.ReLU(),
                          cl.Residual(cl.Conv2d(2, 2, 3, padding=1)), cl.MaxPool2d(2),
                          cl.Flatten())
    s = summary(model, (1, 16, 16), print_table=False)
    expected = [r.receptive_field for r in receptive_fields(model, (1, 16, 16)) if r.name]
    assert [r.name for r in s.rows] == ["0", "1", "2.body", "2", "3", "4"]
    assert [r.receptive_field for r in s.rows] == [e.size for e in expected]
    assert [r.jump for r in s.rows] == [e.jump for e in expected]
    assert s["3"].receptive_field == (9, 9) and s["3"].jump == (4, 4)  # 3, 3 + 2·2, 7 + 1·2
    assert s["4"].whole_input and s["4"].jump is None


def test_the_model_is_left_as_it_was():
    model = cl.Sequential(cl.Conv2d(1, 3, 3), cl.BatchNorm2d(3), cl.ReLU())
    before = model.state_dict()
    summary(model, (1, 8, 8), print_table=False)
    after = model.state_dict()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    assert all(p.grad is None for p in model.parameters())
    assert model[0]._cache is None and model[2]._cache is None


def test_prints_the_table_and_markdown(capsys):
    s = summary(cl.models.get_model("seed_net"), (1, 28, 28))
    printed = capsys.readouterr().out
    assert printed.strip() == str(s)
    header = "Layer  Type       Output shape"
    assert header in printed
    lines = printed.splitlines()
    assert lines[4].split()[:4] == ["0", "Conv2d", "(1,", "10,"]
    md = s.to_markdown()
    assert md.splitlines()[2].startswith("| Layer | Type | Output shape | Params |")
    assert "| 0 | Conv2d | (1, 10, 24, 24) | 260 |" in md
    assert "- Total params: 38,390" in md


def test_float64_models_take_twice_the_bytes():
    s32 = summary(cl.models.get_model("simple_cnn"), (1, 28, 28), print_table=False)
    s64 = summary(cl.models.get_model("simple_cnn").double(), (1, 28, 28), print_table=False)
    assert s64.dtype == "float64" and s32.dtype == "float32"
    assert s64.total_bytes == 2 * s32.total_bytes - (s32.rows[1].cache_bytes + s32.rows[2].cache_bytes
                                                     + s32.rows[4].cache_bytes + s32.rows[5].cache_bytes)
    assert s64.total_params == 5_258


def test_bad_input_shapes():
    with pytest.raises(ValueError, match="without the batch axis"):
        summary(cl.Conv2d(1, 1, 3), (0, 5, 5), print_table=False)
    with pytest.raises(ValueError, match="window does not fit"):
        summary(cl.Conv2d(1, 1, 3), (1, 2, 2), print_table=False)


def test_vector_inputs_have_no_receptive_field():
    s = summary(cl.Sequential(cl.Linear(4, 3), cl.ReLU()), (4,), print_table=False)
    assert s.total_params == 15 and s.rows[0].receptive_field is None
    assert "?" not in str(s)


def test_a_model_that_starts_with_an_embedding_gets_token_ids():
    model = cl.models.get_model("text_cnn", vocab_size=50, num_classes=7)
    s = summary(model, (24,), batch_size=2, print_table=False)
    assert s.dtype == "int64" and s.input_shape == (2, 24)
    assert [r.output_shape for r in s.rows][:2] == [(2, 24, 64), (2, 64, 24)]
    assert s.rows[-1].output_shape == (2, 7) and s.total_params == model.num_parameters()
    assert "Input: (2, 24) int64" in str(s)


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1536, 3 * 2**20)] == ["0 B", "1023 B", "1.5 KiB", "3.0 MiB"]
    assert math.isclose(float(format_bytes(int(2.5 * 2**30)).split()[0]), 2.5)


def test_cache_memory_is_measured_inside_no_grad_too():
    model = cl.models.get_model("lenet5")
    outside = cl.summary(model, (1, 28, 28), print_table=False)
    with cl.no_grad():
        inside = cl.summary(model, (1, 28, 28), print_table=False)
    assert [r.cache_bytes for r in inside.rows] == [r.cache_bytes for r in outside.rows]
    assert [r.cache_kept_bytes for r in inside.rows] == [r.cache_kept_bytes for r in outside.rows]
    assert inside.rows[0].cache_kept_bytes > 0 and inside.rows[2].cache_bytes > 0  # conv, max pool


def test_batch_norm_after_flatten_is_measured_at_batch_size_one():
    """A batch of one has no batch variance: BatchNorm1d on (1, 256) features would refuse it
    in training mode, so summary measures batch norm with its running statistics."""
    model = cl.models.get_model("fmnist_cnn")
    before = {k: v.copy() for k, v in model.state_dict().items()}
    s = cl.summary(model, (1, 28, 28), print_table=False)
    assert s.total_params == 824_810
    assert model.training and all(m.training for _, m in model.named_modules())
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # running stats untouched
    with pytest.raises(ValueError, match="more than 1 value"):
        model(np.zeros((1, 1, 28, 28), np.float32))  # the layer itself still refuses


def test_the_input_size_may_hold_the_batch_axis_as_in_torchinfo():
    model = cl.models.get_model("lenet5")
    without = summary(model, (1, 28, 28), print_table=False)
    with_batch = summary(model, (1, 1, 28, 28), print_table=False)
    assert with_batch.input_shape == without.input_shape == (1, 1, 28, 28)
    assert [r.output_shape for r in with_batch.rows] == [r.output_shape for r in without.rows]
    assert summary(model, (3, 1, 28, 28), print_table=False).rows[-1].output_shape == (3, 10)
    assert summary(model, (3, 1, 28, 28), batch_size=3, print_table=False).input_shape[0] == 3
    with pytest.raises(ValueError, match=r"holds the batch size 3, but batch_size=2 was given too"):
        summary(model, (3, 1, 28, 28), batch_size=2, print_table=False)
    tokens = summary(cl.models.get_model("text_cnn"), (2, 24), print_table=False)
    assert tokens.input_shape == (2, 24) and tokens.dtype == "int64"


def test_errors_name_the_size_as_given_and_the_failing_layer():
    model = cl.models.get_model("lenet5")
    with pytest.raises(ValueError, match=re.escape(
            "summary: Sequential cannot take the input size (1, 1, 20, 20): it fails at layer '7' "
            "(Linear): ")) as info:
        summary(model, (1, 1, 20, 20), print_table=False)
    assert "x[None]" not in str(info.value)
    with pytest.raises(ValueError, match=re.escape(
            "summary: Sequential starts with Conv2d, which takes (N, C, H, W) with C=1: expected an "
            "input size of 3 numbers (without the batch axis N) or 4 (with it), received (28, 28) "
            "(2 numbers)")):
        summary(model, (28, 28), print_table=False)
    with pytest.raises(TypeError, match=r"expected the input size as a tuple of ints .* received 'abc'"):
        summary(model, "abc", print_table=False)


def test_an_input_too_large_for_memory_is_refused_before_it_is_allocated(monkeypatch):
    import convlens.inspect.summary as module

    monkeypatch.setattr(module, "available_memory", lambda: 2**30)  # 1 GiB
    model = cl.models.get_model("lenet5")
    need = module.estimate_bytes(model, (1, 20000, 20000), 1, np.float32)
    # the conv's output and the padded input it keeps alone: 6·(4·10⁸)·4 B and (4·10⁸)·4 B
    assert need > (6 + 1) * 4 * 20000 * 20000
    with pytest.raises(ValueError, match=r"summary: input size \(1, 20000, 20000\) would need about "
                                         r"\d+\.\d GiB for the forward pass, more than half of the 1\.0 "
                                         r"GiB of memory available"):
        summary(model, (1, 20000, 20000), print_table=False)


# -- graph models -------------------------------------------------------------------------------
def small_inception():
    cl.manual_seed(0)
    x = cl.Input((2, 8, 8), name="image")
    shared = cl.Conv2d(2, 2, 3, padding=1)
    a = shared(x, name="conv_a")
    b = shared(cl.ReLU()(a, name="act"), name="conv_b")             # the same weights again
    c = cl.Conv2d(2, 3, 1)(cl.AvgPool2d(3, stride=1, padding=1)(x, name="pool"), name="proj")
    joined = cl.Concatenate()(a, b, c, name="joined")
    out = cl.Linear(7, 4)(cl.GlobalAvgPool2d()(joined, name="gap"), name="head")
    return cl.Graph(x, out)


def test_graph_summary_has_a_row_per_node_with_its_inputs():
    model = small_inception()
    s = summary(model, (2, 8, 8), print_table=False)
    assert [r.name for r in s.rows] == [n.name for n in model.nodes]
    assert s["joined"].inputs == ["conv_a", "conv_b", "proj"]
    assert s["conv_a"].inputs == ["image"] and s["head"].inputs == ["gap"]
    assert s["conv_b"].shared_with == "conv_a" and s["conv_b"].params == 0
    assert s.total_params == model.num_parameters() == (2 * 2 * 9 + 2) + (2 * 3 + 3) + (7 * 4 + 4)
    assert s["joined"].output_shape == (1, 7, 8, 8)
    assert s["proj"].mult_adds == 3 * 8 * 8 * 2
    # receptive fields through the branches: the widest path (two 3x3 convs) wins
    assert s["conv_b"].receptive_field == (5, 5) and s["joined"].receptive_field == (5, 5)
    assert s["gap"].whole_input
    text = str(s)
    assert "Connected to" in text
    assert next(line for line in text.splitlines() if line.startswith("joined")).count(
        "conv_a, conv_b, proj") == 1
    assert "Connected to" in s.to_markdown()
    # a Sequential's table keeps its columns
    assert "Connected to" not in str(summary(cl.Sequential(cl.Conv2d(1, 1, 3)), (1, 5, 5),
                                             print_table=False))


def test_graph_summary_with_two_inputs_and_a_matmul():
    a, b = cl.Input((3, 4), name="a"), cl.Input((4, 5), name="b")
    model = cl.Graph([a, b], cl.MatMul()(a, b, name="product"))
    s = summary(model, (3, 4), print_table=False)
    assert s["product"].inputs == ["a", "b"] and s["product"].output_shape == (1, 3, 5)
    assert s["product"].mult_adds == 3 * 5 * 4
