"""Receptive fields from the recurrences, checked against a measurement.

The measurement: backpropagate a one-hot gradient from one output unit with ``model.backward``
and take the bounding box of the input pixels whose gradient is not zero. Weights, biases and
inputs are positive, so no gradient can cancel to zero by accident and ReLU passes everything;
pooling layers in the measured nets average (max pooling sends the gradient to one winner
only, so its measured box would be smaller than the field; its geometry is checked equal to
average pooling's separately).
"""

import numpy as np
import pytest

import convlens as cl
from convlens.inspect.receptive_field import receptive_field, receptive_fields
from convlens.inspect.summary import summary


def positive(model, seed=0):
    rng = np.random.default_rng(seed)
    model.double()
    for p in model.parameters():
        p.data[...] = rng.uniform(0.1, 1.0, p.shape)
    return model


def measured_box(model, input_shape, index, seed=0):
    """Bounding box (first, last) per axis of the input pixels that output ``index`` reaches."""
    x = np.random.default_rng(seed).uniform(0.5, 1.5, (1, *input_shape))
    y = model(x)
    dy = np.zeros_like(y)
    dy[(0, 0, *index)] = 1.0
    dx = model.backward(dy)
    reached = np.abs(dx[0]).sum(axis=0) != 0
    return tuple((int(idx.min()), int(idx.max())) for idx in np.nonzero(reached))


def output_indices(spatial):
    """Corners and the centre of the output grid."""
    first = (0,) * len(spatial)
    last = tuple(n - 1 for n in spatial)
    middle = tuple(n // 2 for n in spatial)
    return sorted({first, last, middle, tuple(n // 3 for n in spatial)})


# Graph models: the field through branches is the bounding box over the paths (average
# pooling, no normalization: see the module docstring).
def inception_branches():
    x = cl.Input((1, 16, 16))
    b1 = cl.Conv2d(1, 2, 1)(x)
    b2 = cl.Conv2d(2, 2, 3, padding=1)(cl.ReLU()(cl.Conv2d(1, 2, 1)(x)))
    b3 = cl.Conv2d(2, 2, 5, padding=2)(cl.Conv2d(1, 2, 1)(x))      # the widest path: 5
    b4 = cl.Conv2d(1, 2, 1)(cl.AvgPool2d(3, stride=1, padding=1)(x))
    return cl.Graph(x, cl.Conv2d(8, 1, 3)(cl.Concatenate()(b1, b2, b3, b4)))   # 5 + 2


def bottleneck_add():
    x = cl.Input((1, 16, 16))
    body = cl.Conv2d(2, 2, 1)(cl.Conv2d(2, 2, 3, stride=2, padding=1)(cl.Conv2d(1, 2, 1)(x)))
    join = cl.Add()(body, cl.Conv2d(1, 2, 1, stride=2)(x))            # 3 (jump 2) and 1
    return cl.Graph(x, cl.Conv2d(2, 1, 3, padding=1)(cl.ReLU()(join)))  # 3 + 2·2


def dense_block():
    x = cl.Input((1, 14, 14))
    c1 = cl.Conv2d(1, 1, 3, padding=1)(x)                              # 3
    c2 = cl.Conv2d(2, 1, 3, padding=1)(cl.Concatenate()(x, c1))        # 5
    return cl.Graph(x, cl.Conv2d(3, 1, 3)(cl.Concatenate()(x, c1, c2)))   # 7


def channel_shuffle():
    x = cl.Input((1, 12, 12))
    h = cl.Reshape(2, 2, 12, 12)(cl.Conv2d(1, 4, 3, padding=1)(x))    # 3
    h = cl.Reshape(4, 12, 12)(cl.Permute(0, 2, 1, 3, 4)(h))           # spatial axes untouched
    return cl.Graph(x, cl.Conv2d(4, 1, 3, padding=1)(h))             # 5


NETS = {
    "two 3x3 convs": (lambda: cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU(), cl.Conv2d(2, 2, 3)),
                      (1, 12, 12), (5, 5), (1, 1)),
    "stride and padding": (lambda: cl.Sequential(
        cl.Conv2d(1, 2, 3, stride=2, padding=1), cl.ReLU(), cl.Conv2d(2, 2, 3, padding=1),
        cl.Conv2d(2, 1, 3, stride=2)), (1, 17, 17), (11, 11), (4, 4)),  # r: 3, 3 + 2·2, 7 + 2·2
    "dilation": (lambda: cl.Sequential(cl.Conv2d(1, 2, 3, dilation=2),
                                       cl.Conv2d(2, 1, 3, dilation=3, padding=2)),
                 (1, 20, 20), (11, 11), (1, 1)),  # k_eff 5, then 7: 5 + 6
    "average pooling with padding": (lambda: cl.Sequential(
        cl.AvgPool2d(2), cl.Conv2d(1, 2, 3), cl.AvgPool2d(3, stride=2, padding=1),
        cl.Conv2d(2, 1, 2)), (1, 24, 24), (14, 14), (4, 4)),  # r: 2, 6, 10, 14
    "non-square kernel, stride, asymmetric padding": (lambda: cl.Sequential(
        cl.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=((0, 0), (2, 1))), cl.ReLU(),
        cl.Conv2d(2, 1, (2, 3), stride=(2, 1))), (1, 11, 14), (4, 9), (2, 2)),
    "'same' padding with stride 2": (lambda: cl.Sequential(
        cl.Conv2d(1, 2, 4, stride=2, padding="same"), cl.Conv2d(2, 1, 3, padding="same")),
        (1, 13, 13), (8, 8), (2, 2)),
    "residual (identity shortcut)": (lambda: cl.Sequential(
        cl.Conv2d(1, 2, 3, padding=1),
        cl.Residual(cl.Sequential(cl.Conv2d(2, 2, 3, padding=1), cl.ReLU(),
                                  cl.Conv2d(2, 2, 3, padding=1)))),
        (1, 15, 15), (7, 7), (1, 1)),
    "residual (strided projection)": (lambda: cl.Residual(
        cl.Sequential(cl.Conv2d(1, 2, 3, stride=2, padding=1), cl.Conv2d(2, 2, 3, padding=1)),
        cl.Conv2d(1, 2, 1, stride=2)), (1, 16, 16), (7, 7), (2, 2)),
    "graph: inception branches": (lambda: inception_branches(), (1, 16, 16), (7, 7), (1, 1)),
    "graph: bottleneck with strided projection": (lambda: bottleneck_add(), (1, 16, 16),
                                                  (7, 7), (2, 2)),
    "graph: dense block": (lambda: dense_block(), (1, 14, 14), (7, 7), (1, 1)),
    "graph: channel shuffle": (lambda: channel_shuffle(), (1, 12, 12), (5, 5), (1, 1)),
    "1-D": (lambda: cl.Sequential(cl.Conv1d(1, 2, 5, stride=2), cl.AvgPool1d(2),
                                  cl.Conv1d(2, 1, 3, dilation=2)), (1, 60), (23,), (4,)),
}


@pytest.mark.parametrize("net", NETS, ids=list(NETS))
def test_receptive_field_equals_the_measured_one(net):
    build, input_shape, size, jump = NETS[net]
    model = positive(build())
    rf = receptive_field(model, input_shape)
    assert rf.size == size and rf.jump == jump
    out_spatial = model(np.ones((1, *input_shape))).shape[2:]
    assert rf.spatial == out_spatial
    inside = 0
    for index in output_indices(out_spatial):
        measured = measured_box(model, input_shape, index)
        region = rf.region(index)
        if all(0 <= lo and hi < n for (lo, hi), n in zip(region, input_shape[1:])):
            inside += 1
            assert measured == region, index
        else:
            # Part of the field is padding. Its clipped box is what the gradient reaches,
            # except with dilation, whose gaps can make the first real pixel one that no tap
            # meets: then the measured box is inside the clipped one.
            clipped = rf.clipped_region(index, input_shape[1:])
            assert all(c_lo <= m_lo and m_hi <= c_hi
                       for (m_lo, m_hi), (c_lo, c_hi) in zip(measured, clipped)), index
            if "dilation" not in net:
                assert measured == clipped, index
    assert inside >= 1


def test_every_layer_of_seed_net_and_lenet5():
    seed = [r.receptive_field for r in receptive_fields(cl.models.get_model("seed_net"), (1, 28, 28))]
    assert [f.size[0] for f in seed[:6]] == [5, 5, 6, 14, 14, 16]
    assert [f.jump[0] for f in seed[:6]] == [1, 1, 2, 2, 2, 4]
    assert [f.start[0] for f in seed[:6]] == [2, 2, 2.5, 6.5, 6.5, 7.5]
    assert all(f.whole_input and f.size == (28, 28) for f in seed[6:])
    lenet = receptive_field(cl.models.get_model("lenet5")[:6], (1, 28, 28))
    # padding 2 moves every centre 2 pixels left: unit 0 of C1 is centred on pixel 0
    assert (lenet.size, lenet.jump, lenet.start) == ((16, 16), (4, 4), (5.5, 5.5))
    assert lenet.region((0, 0)) == ((-2, 13), (-2, 13))


def test_max_pooling_has_the_geometry_of_average_pooling():
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}):
        rf_max = receptive_field(cl.Sequential(cl.Conv2d(1, 1, 3), cl.MaxPool2d(**kwargs)), (1, 20, 20))
        rf_avg = receptive_field(cl.Sequential(cl.Conv2d(1, 1, 3), cl.AvgPool2d(**kwargs)), (1, 20, 20))
        assert rf_max == rf_avg
    dilated = receptive_field(cl.Sequential(cl.Conv2d(1, 1, 3), cl.MaxPool2d(2, dilation=2)),
                              (1, 20, 20))
    assert (dilated.size, dilated.jump) == ((5, 5), (2, 2))  # 3 + (2·(2 − 1) + 1 − 1)·1


def test_flatten_and_linear_see_the_whole_input():
    model = positive(cl.Sequential(cl.Conv2d(1, 2, 3), cl.Flatten(), cl.Linear(2 * 8 * 8, 3)))
    rf = receptive_field(model, (1, 10, 10))
    assert rf.whole_input and rf.size == (10, 10) and rf.jump is None and rf.start is None
    x = np.ones((1, 1, 10, 10))
    dy = np.zeros((1, 3))
    dy[0, 1] = 1.0
    model(x)
    assert (model.backward(dy) != 0).all()


def test_layers_that_keep_or_lose_the_geometry():
    keep = cl.Sequential(cl.Conv2d(3, 4, 3), cl.BatchNorm2d(4), cl.Dropout(0.5), cl.Tanh(),
                         cl.Softmax(dim=1), cl.Identity())
    assert receptive_field(keep, (3, 9, 9)).size == (3, 3)
    unknown = receptive_fields(cl.Sequential(cl.Conv2d(4, 4, 3), cl.PixelShuffle(2),
                                             cl.Conv2d(1, 1, 3), cl.Flatten()), (4, 9, 9))
    assert [r.receptive_field is None for r in unknown] == [False, True, True, False, False]
    assert unknown[-1].receptive_field.whole_input  # Flatten: the whole input again
    even = receptive_field(cl.Sequential(cl.Conv2d(1, 1, 3), cl.AdaptiveAvgPool2d(2)), (1, 10, 10))
    assert (even.size, even.jump) == ((6, 6), (4, 4))  # 8 -> 2: a regular 4×4 pooling
    uneven = receptive_field(cl.Sequential(cl.Conv2d(1, 1, 3), cl.AdaptiveAvgPool2d(3)), (1, 10, 10))
    assert uneven.whole_input
    assert receptive_field(cl.Sequential(cl.Conv2d(1, 1, 3), cl.GlobalAvgPool2d()), (1, 10, 10)).whole_input


def test_a_layer_used_twice_is_listed_twice():
    conv = cl.Conv2d(1, 1, 3, padding=1)
    records = receptive_fields(cl.Sequential(conv, cl.ReLU(), conv), (1, 8, 8))
    assert [(r.name, r.occurrence) for r in records] == [("0", 0), ("1", 0), ("2", 1), ("", 0)]
    assert [r.receptive_field.size for r in records] == [(3, 3), (3, 3), (5, 5), (5, 5)]


def test_input_shape_needs_channels_and_spatial_axes():
    with pytest.raises(ValueError, match=r"\(C, \*spatial\) without the batch axis"):
        receptive_field(cl.Conv2d(1, 1, 3), (28,))


def test_graph_fields_per_node_and_whole_input_through_a_gate():
    records = {r.name: r.receptive_field for r in receptive_fields(dense_block(), (1, 14, 14))}
    assert [records[n].size for n in records if n.startswith("concatenate")][-2:] == [(3, 3), (5, 5)]
    # squeeze-and-excitation: the gate comes from global pooling, so every output sees all
    x = cl.Input((2, 8, 8))
    h = cl.Conv2d(2, 2, 3, padding=1)(x)
    gate = cl.Sigmoid()(cl.Reshape(2, 1, 1)(cl.GlobalAvgPool2d()(h)))
    gated = cl.Multiply()(h, gate, name="gated")
    scaled = cl.Multiply()(gated, cl.Constant(np.full((2, 1, 1), 0.5))(), name="scaled")
    fields = {r.name: r.receptive_field for r in receptive_fields(cl.Graph(x, scaled), (2, 8, 8))}
    assert fields["gated"].whole_input and fields["scaled"].whole_input
    x = cl.Input((2, 8, 8))
    scaled = cl.Multiply()(cl.Conv2d(2, 2, 3)(x), cl.Constant(np.full((2, 1, 1), 0.5))(),
                           name="scaled")
    assert receptive_field(cl.Graph(x, scaled), (2, 8, 8)).size == (3, 3)  # constants see nothing


def test_a_graph_model_node_by_node():
    """Branches of a Graph: a merge node sees what any input sees (the union); a Residual or
    Sequential inside a node is followed; a constant adds nothing."""
    x = cl.Input((1, 16, 16), name="image")
    a = cl.Conv2d(1, 2, 3, padding=1)(x, name="a")                     # r 3
    b = cl.Conv2d(1, 2, 5, padding=2)(x, name="b")                     # r 5
    c = cl.Concatenate(dim=1)(a, b, name="cat")                         # union: r 5
    d = cl.MaxPool2d(2)(c, name="pool")                                 # r 6, j 2
    e = cl.Sequential(cl.Conv2d(4, 4, 3, padding=1), cl.ReLU())(d, name="block")   # r 6 + 2·2 = 10
    s = cl.Add()(d, e, name="sum")                                      # union of 6 and 10: 10
    k = cl.Multiply()(s, cl.Constant(np.full((4, 1, 1), 2.0, np.float32))(name="scale"), name="scaled")
    model = cl.Graph(inputs=x, outputs=cl.Flatten()(k, name="flat"))
    fields = {r.name: r.receptive_field for r in receptive_fields(model, (1, 16, 16))}
    assert [fields[n].size for n in ("a", "b", "cat", "pool", "block", "sum", "scaled")] == \
        [(3, 3), (5, 5), (5, 5), (6, 6), (10, 10), (10, 10), (10, 10)]
    assert fields["pool"].jump == (2, 2) and fields["block.0"].size == (10, 10)
    assert fields["scale"] is None and fields["flat"].whole_input and fields[""].whole_input
    # the summary runs the graph and shows the same fields next to its rows
    table = summary(model, (1, 16, 16), print_table=False)
    assert table["sum"].receptive_field == (10, 10) and table["cat"].output_shape == (1, 4, 16, 16)
