import numpy as np

import convlens as cl
from convlens.inspect.profile import LayerProfiler


def test_profiler_times_every_leaf_layer_and_unwraps_on_exit():
    model = cl.models.get_model("lenet5")
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    with LayerProfiler(model) as prof:
        for _ in range(3):
            y = model(x)
            model.backward(np.ones_like(y))
    assert [t.name for t in prof.timings] == [str(i) for i in range(12)]
    assert all(t.forward_calls == 3 and t.backward_calls == 3 for t in prof.timings)
    assert all(t.forward_s > 0 and t.backward_s > 0 for t in prof.timings)
    table = prof.table()
    assert "0 Conv2d" in table and "all layers" in table
    # unwrapped: no instance attribute shadows the class methods any more
    assert all("forward" not in vars(m) and "backward" not in vars(m) for m in model.modules())
    np.testing.assert_array_equal(model(x), y)


def test_graph_layers_are_timed_per_node_even_when_shared():
    x_in = cl.Input((2, 6, 6))
    conv = cl.Conv2d(2, 2, 3, padding=1)
    a = conv(x_in, name="first")
    b = conv(cl.ReLU()(a, name="act"), name="second")               # the same layer again
    model = cl.Graph(x_in, cl.Add()(a, b, name="join"))
    x = np.random.default_rng(0).random((2, 2, 6, 6), dtype=np.float32)
    with LayerProfiler(model) as prof:
        for _ in range(2):
            y = model(x)
            model.backward(np.ones_like(y))
    rows = {t.name: t for t in prof.timings}
    assert set(rows) == {"first", "act", "second", "join"}
    assert all(t.forward_calls == 2 and t.backward_calls == 2 for t in rows.values())
    assert "second Conv2d" in prof.table() and "join Add" in prof.table()
    assert all("forward" not in vars(m) for m in model.modules())
