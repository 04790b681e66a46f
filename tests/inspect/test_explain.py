"""`cl.explain`: seed 004's worked step with the correct numbers, in text, Markdown and HTML."""

import textwrap
from html.parser import HTMLParser

import numpy as np
import pytest

import convlens as cl
from convlens.inspect.explain import explain, seed004_example
from convlens.inspect.explain.labels import EN, KO
from convlens.inspect.explain.numbers import digits_for_change, fmt, inline, matrix

X = np.array([[1, 2, 0, 1], [3, 1, 1, 5], [0, 2, 2, 0], [1, 0, 3, 1]], dtype=np.float64)
W = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
G = 1 / (1 + np.exp(10.9))  # 1 − softmax([5.6, −5.3])₀


@pytest.fixture(scope="module")
def seed_step():
    return explain(print_text=False)


def block(a):
    """A multi-line array as the text renderer shows it (indented under its label)."""
    return textwrap.indent(matrix(a), "    ")


def dot_product_line(window, weight, bias, value):
    """The seed's way of writing one output: a group per kernel row, then the bias."""
    groups = ["(" + " + ".join(f"{fmt(a)}·{fmt(b)}" for a, b in zip(xr, wr)) + ")"
              for xr, wr in zip(window, weight)]
    return " + ".join(groups) + f" + {fmt(bias)} = {fmt(value)}"


def test_forward_numbers_of_seed_004(seed_step):
    text = seed_step.to_text()
    conv_out = np.array([[(X[i:i + 3, j:j + 3] * W).sum() + 1 for j in range(2)] for i in range(2)])
    np.testing.assert_array_equal(conv_out, [[5, 7], [11, 10]])
    assert block(conv_out) in text
    for i, j in np.ndindex(2, 2):  # every window and every dot product, as on the slides
        window = X[i:i + 3, j:j + 3]
        assert block(window) in text
        assert dot_product_line(window, W, 1, conv_out[i, j]) in text
    assert "(1·1 + 2·0 + 0·1) + (3·0 + 1·1 + 1·0) + (0·1 + 2·0 + 2·1) + 1 = 5" in text
    assert EN["relu_all_positive"] in text
    # max pooling: 11 wins, from the bottom-left of the window
    assert "window (0, 0) [[5, 7], [11, 10]] → max 11 at input (1, 0) bottom-left" in text
    logits = np.array([[11 * 0.5 + 0.1, 11 * -0.5 + 0.2]])
    assert matrix(logits) == "[[ 5.6, -5.3]]" and matrix(logits) in text
    assert "y_0 = 11·0.5 + 0.1 = 5.6" in text and "y_1 = 11·(-0.5) + 0.2 = -5.3" in text
    assert f"e^5.6 = {fmt(np.exp(5.6))}" in text and "270.43" in text
    probs = np.exp(logits) / np.exp(logits).sum()
    assert matrix(probs) in text and fmt(G) == "1.8458e-05"
    assert f"loss L = {fmt(-np.log(1 - G))}" in text


def test_backward_and_update_numbers_of_seed_004(seed_step):
    text = seed_step.to_text()
    assert f"[{fmt(1 - G)} − 1, {fmt(G)} − 0] = [{fmt(-G)}, {fmt(G)}]" in text  # p − y
    assert f"dL/dW[0, 0] = ({fmt(-G)})·11 = {fmt(-11 * G)}" in text
    assert fmt(-11 * G) == "-0.00020304"
    assert f"dL/dx_0 = ({fmt(-G)})·0.5 + {fmt(G)}·(-0.5) = {fmt(-G)}" in text
    assert f"dL/dy(0, 0) = {fmt(-G)} → input (1, 0) bottom-left" in text
    assert f"dL/db[0] = 0 + 0 + ({fmt(-G)}) + 0 = {fmt(-G)}" in text
    window = X[1:4, 0:3]
    assert f"({fmt(-G)}) × window (1, 0) bottom-left {inline(window)}" in text
    assert block(-G * window) in text  # the conv weight gradient
    # the update, with enough digits to see it: 1 + 0.1·g = 1.0000018458…
    bias_after = 1 + 0.1 * G
    shown = fmt(bias_after, int(digits_for_change(np.array(1.0), np.array(bias_after))))
    assert shown.startswith("1.0000018") and f"1 − 0.1·({fmt(-G)}) = {shown}" in text
    assert f"0.5 − 0.1·({fmt(-11 * G)}) = {fmt(0.5 + 1.1 * G, 8)}" in text
    assert fmt(0.5 + 1.1 * G, 8) == "0.5000203"


def test_explained_gradients_are_the_models_gradients(seed_step):
    trace = seed_step.trace
    model = trace.model
    for layer in trace.layers:
        for attr, grad in layer.grads.items():
            np.testing.assert_array_equal(grad, getattr(layer.module, attr).grad)
    conv, dense = model.layers[0], model.layers[4]
    np.testing.assert_allclose(conv.weight.grad[0, 0], -G * X[1:4, 0:3], rtol=1e-10)
    np.testing.assert_allclose(dense.weight.grad, [[-11 * G], [11 * G]], rtol=1e-10)
    # the update happened: the model now holds the "after" values of the trace
    for update in trace.updates:
        param = dict(model.named_parameters())[update.name]
        np.testing.assert_array_equal(param.data, update.after)
        np.testing.assert_allclose(update.after, update.before - 0.1 * update.grad, rtol=1e-15)
    np.testing.assert_allclose(conv.bias.data, [1 + 0.1 * G], rtol=1e-12)
    # the forward values shown are those before the update
    np.testing.assert_array_equal(trace.layers[0].params["weight"][0, 0], W)


def test_trace_matches_an_independent_step():
    model, x, y, opt = seed004_example()
    loss_fn = cl.CrossEntropyLoss()
    out = model(x)
    loss_fn(out, y)
    dx = model.backward(loss_fn.backward())
    mine = explain(*seed004_example(), print_text=False).trace
    np.testing.assert_array_equal(mine.loss.prediction, out)
    np.testing.assert_array_equal(mine.layers[0].dx, dx)
    for layer, module in zip(mine.layers, model.layers):
        for attr, grad in layer.grads.items():
            np.testing.assert_array_equal(grad, getattr(module, attr).grad)


def test_large_models_are_summarized():
    cl.manual_seed(0)
    model = cl.models.get_model("lenet5")
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    result = explain(model, x, np.array([3]), cl.optim.SGD(model.parameters(), lr=0.01),
                     print_text=False)
    text = result.to_text()
    assert len(text) < 30_000
    assert "4,704 dot products of 25 terms each (6 filters × 784 positions); the first one:" in text
    assert text.count(" = ") < 300  # one example dot product, not 4,704
    assert "summarized: shape (120, 400), 48,000 values" in text
    assert max(len(line) for line in text.splitlines()) < 1_000
    # still the real step: the trace has every array in full
    assert result.trace.layers[0].y.shape == (1, 6, 28, 28)
    small = explain(print_text=False).to_text()
    assert small.count("window rows") == 4  # every window of the small example


def test_momentum_and_adam_state_are_shown():
    model, x, y, _ = seed004_example()
    text = explain(model, x, y, cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                   print_text=False).to_text()
    assert "optimizer state momentum_buffer" in text and "μ = 0.9" in text
    model, x, y, _ = seed004_example()
    adam = cl.optim.Adam(model.parameters(), lr=0.01)
    result = explain(model, x, y, adam, print_text=False)
    text = result.to_text()
    assert "optimizer state exp_avg" in text and "optimizer state exp_avg_sq" in text
    assert "t = 1" in text
    bias = next(u for u in result.trace.updates if u.name == "0.bias")
    np.testing.assert_allclose(bias.state["exp_avg"], 0.1 * bias.grad)
    # Adam's first step: m̂ = g, v̂ = g², so the step is lr·|g|/(|g| + ε), about lr
    g = abs(float(bias.grad[0]))
    np.testing.assert_allclose(bias.after - bias.before, [0.01 * g / (g + 1e-8)], rtol=1e-10)


def test_other_models_losses_and_labels():
    model = cl.Sequential(cl.Conv2d(2, 2, 3, padding=1), cl.Sigmoid(), cl.AvgPool2d(2),
                          cl.Residual(cl.Conv2d(2, 2, 1)), cl.Flatten(), cl.Linear(8, 3)).double()
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    result = explain(model, x, np.array([0, 2]), print_text=False)
    text = result.to_text()
    assert "y = body(x) + shortcut(x)" in text and "(example 0 of 2)" in text
    assert "L_1 = −log p[1, 2]" in text
    assert "mean" in text  # average pooling windows
    mse = explain(cl.Sequential(cl.Linear(3, 2)).double(), np.ones((1, 3)), np.zeros((1, 2)),
                  loss_fn=cl.MSELoss(), print_text=False)
    assert "loss L = " in mse.to_text()
    assert mse.trace.loss.value == pytest.approx(float((mse.trace.loss.prediction ** 2).mean()))


def test_a_layer_used_twice_reports_each_calls_gradient():
    conv = cl.Conv2d(1, 1, 3, padding=1)
    model = cl.Sequential(conv, cl.Tanh(), conv, cl.Flatten(), cl.Linear(16, 2)).double()
    x = np.random.default_rng(2).standard_normal((1, 1, 4, 4))
    trace = explain(model, x, np.array([1]), print_text=False).trace
    first, second = trace.layers[0], trace.layers[2]
    assert first.module is second.module
    np.testing.assert_allclose(first.grads["weight"] + second.grads["weight"], conv.weight.grad)
    assert not np.allclose(first.grads["weight"], second.grads["weight"])


class _TagChecker(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


class Angle(cl.Identity):
    def extra_repr(self):
        return "<script>alert('x & y')</script>"


def test_html_is_well_formed_and_escaped():
    model, x, y, opt = seed004_example()
    model.layers.insert(1, Angle())
    page = explain(model, x, y, opt, print_text=False).to_html()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    checker = _TagChecker()
    checker.feed(page)
    assert checker.errors == [] and checker.stack == []
    assert "script" not in checker.tags and "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x &amp; y&#x27;)&lt;/script&gt;" in page
    assert "<pre>[[ 5,  7],\n [11, 10]]</pre>" in page
    assert "http" not in page  # self-contained
    md = explain(*seed004_example(), print_text=False).to_markdown()
    assert md.startswith("# One training step") and "```text\n[[ 5,  7],\n [11, 10]]\n```" in md


def test_korean_labels():
    assert EN.keys() == KO.keys()
    result = explain(lang="ko", print_text=False)
    text = result.to_text()
    for label in ("1. 순전파", "2. 역전파", "3. 가중치 업데이트", "이미 모든 값이 0보다 크므로",
                  "순전파 시 입력이 모두 0보다 컸으므로", "Bottom-Left (왼쪽 아래)"):
        assert label in text
    assert block(np.array([[5, 7], [11, 10]])) in text  # the numbers do not change
    assert '<html lang="ko">' in result.to_html()
    with pytest.raises(ValueError, match="lang must be one of"):
        explain(lang="fr", print_text=False)


def test_prints_by_default(capsys):
    result = explain()
    assert capsys.readouterr().out.strip() == result.to_text().strip()
    with pytest.raises(ValueError, match="x and y are required"):
        explain(cl.Linear(2, 2), print_text=False)
    with pytest.raises(ValueError, match="format must be one of"):
        result.render("pdf")


# -- graph models -------------------------------------------------------------------------------
def branching_graph():
    cl.manual_seed(0)
    x = cl.Input((1, 4, 4), name="image")
    a = cl.Conv2d(1, 2, 3, padding=1)(x, name="conv")
    joined = cl.Add()(a, cl.ReLU()(a, name="relu"), name="join")
    both = cl.Concatenate()(joined, a, name="cat")                       # conv is read 3 times
    out = cl.Linear(64, 3)(cl.Flatten()(both, name="flat"), name="fc")
    return cl.Graph(x, out)


def test_graph_step_names_nodes_and_adds_fanned_out_gradients():
    model = branching_graph()
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    model.double()
    result = explain(model, x, np.array([1, 2]), print_text=False)
    trace = result.trace
    assert [t.name for t in trace.layers] == [n.name for n in model.nodes]
    join, cat, conv = trace.layer("join"), trace.layer("cat"), trace.layer("conv")
    assert join.inputs == ["conv", "relu"] and isinstance(join.x, tuple)
    # the chain rule: conv's dL/dy is the sum of what its three readers sent back
    np.testing.assert_allclose(conv.dy, trace.layer("relu").dx + join.dx[0] + cat.dx[1],
                               rtol=1e-12)
    np.testing.assert_array_equal(cat.dx[0], join.dy)
    text = result.to_text()
    assert "conv is read 3 times (relu, join, cat)" in text
    assert "y = conv + relu" in text and "y = [join | conv] joined along axis 1 (sizes 2 + 2)" in text
    assert "dL/dconv = dL/dy" in text and "Reads conv, relu." in text
    assert "joined along" in explain(branching_graph(), x.astype(np.float32), np.array([0, 1]),
                                     lang="ko", print_text=False).to_text()


def test_large_graphs_are_one_table_per_pass():
    model = branching_graph()
    x = np.random.default_rng(1).standard_normal((1, 1, 4, 4)).astype(np.float32)
    text = explain(model, x, np.array([0]), print_text=False, max_layers=3).to_text()
    assert "The model makes 6 layer calls, more than 3" in text
    forward = text[text.index("1. Forward"):text.index("2. Backward")]
    rows = [line.split()[0] for line in forward.splitlines() if line.strip().split(" ")[0] in
            {"conv", "relu", "join", "cat", "flat", "fc"}]
    assert rows == ["conv", "relu", "join", "cat", "flat", "fc"]
    assert "conv, relu" in forward and "Layer join" not in text
    assert set(EN) == set(KO)
