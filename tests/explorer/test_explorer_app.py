"""The explorer's API, in process: every route's answer checked against convlens's own
functions, and every error a 4xx with a message."""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import json
import time

import httpx
import numpy as np
import pytest
from explorer_helpers import branches_graph, digit_input
from PIL import Image

import convlens as cl
from convlens.functional.activation import softmax
from convlens.viz.cam import grad_cam, saliency_map
from convlens.viz.feature_maps import feature_maps


def png_data_url(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def post(client, route: str, model: str = "simple_cnn", **body):
    return client.post(f"/api/models/{model}/{route}", json=body)


# -- the routes ------------------------------------------------------------------------------
def test_models_lists_exactly_the_served_models(client, served):
    answer = client.get("/api/models").json()["models"]
    assert [m["name"] for m in answer] == list(served)
    by_name = {m["name"]: m for m in answer}
    assert by_name["simple_cnn"]["input_shape"] == [1, 28, 28] and by_name["simple_cnn"]["kind"] == "zoo"
    assert by_name["my-run"]["run"] is True and by_name["my-run"]["kind"] == "run"
    assert by_name["cnn1d"]["input_shape"] == [1, 40]
    assert by_name["cnn3d"]["input_shape"] == [1, 16, 20, 20]


def test_page_and_schema_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/js/main.js"' in page.text
    assert client.get("/static/js/main.js").headers["content-type"].startswith(("text/javascript",
                                                                             "application/javascript"))
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    for route in ("predict", "activations", "cell", "softmax", "explain", "backward", "run", "network",
                  "input", "examples/{index}"):
        assert f"/api/models/{{name}}/{route}" in paths, route
    assert "/api/labels/{lang}" in paths
    assert client.get("/docs").status_code == 404      # its page would load scripts from a CDN


def test_network_rows_come_from_summary(client, served):
    from convlens.inspect.summary import summary

    net = client.get("/api/models/simple_cnn/network").json()
    table = summary(served["simple_cnn"].model, (1, 28, 28), print_table=False)
    assert [n["name"] for n in net["nodes"]] == [r.name for r in table.rows]
    assert [n["params"] for n in net["nodes"]] == [r.params for r in table.rows]
    assert [n["output_shape"] for n in net["nodes"]] == [list(r.output_shape[1:]) for r in table.rows]
    assert net["nodes"][3]["receptive_field"] == [8, 8]     # 3×3, pool 2, 3×3: 1 + 2 + 1 + 2·2
    assert [n["inputs"] for n in net["nodes"]] == [[-1]] + [[k] for k in range(len(net["nodes"]) - 1)]
    assert net["total_params"] == table.total_params
    np.testing.assert_array_equal(net["filters"]["weights"], served["simple_cnn"].model[0].weight.data)


def test_network_of_a_residual_model_is_a_graph(client):
    nodes = client.get("/api/models/resnet_small/network").json()["nodes"]
    by_name = {n["name"]: n for n in nodes}
    index = {n["name"]: n["index"] for n in nodes}
    # the first block's shortcut is the identity: the sum reads the body's end and the block's input
    assert by_name["3.0"]["inputs"] == [index["3.0.body.4"], index["2"]]
    # the second block has a 1×1 convolution on its shortcut: both branches start at the same node
    assert by_name["4.0.shortcut.0"]["inputs"] == by_name["4.0.body.0"]["inputs"] == [index["3.1"]]
    assert by_name["4.0"]["inputs"] == [index["4.0.body.4"], index["4.0.shortcut.1"]]


def test_predict_matches_the_model(client, served):
    x = digit_input()
    answer = post(client, "predict", input=x.tolist()).json()
    logits = served["simple_cnn"].model(x[None])[0]
    np.testing.assert_allclose(answer["logits"], logits, rtol=1e-6)
    np.testing.assert_allclose(answer["probabilities"], softmax(logits.astype(np.float64)), rtol=1e-6)
    assert answer["predicted"] == int(np.argmax(logits)) and len(answer["classes"]) == 10


def test_predict_from_a_drawn_picture(client, served):
    from convlens.explorer.inputs import from_image

    pixels = np.zeros((280, 280), dtype=np.uint8)
    pixels[40:240, 120:160] = 255          # columns 12…15 of 28 fully covered
    url = png_data_url(pixels)
    answer = post(client, "predict", image=url).json()
    x, steps = from_image(served["simple_cnn"], base64.b64decode(url.split(",")[1]))
    assert any("centred by its centre of mass" in step for step in steps)   # MNIST's framing
    assert x.shape == (1, 28, 28) and x.max() == pytest.approx(1.0) and x[0, :3].max() == 0
    np.testing.assert_allclose(answer["logits"], served["simple_cnn"].model(x[None])[0], rtol=1e-6)


def test_activations_are_the_layers_outputs(client, served):
    x = digit_input(1)
    answer = post(client, "activations", input=x.tolist()).json()
    maps = feature_maps(served["simple_cnn"].model, x, [str(k) for k in range(8)])
    assert [layer["name"] for layer in answer["layers"]] == list(maps)
    for layer in answer["layers"]:
        expected = maps[layer["name"]]
        shown = expected[:16] if expected.ndim > 1 else expected
        np.testing.assert_allclose(layer["values"], shown, rtol=1e-6, atol=1e-7)
        assert layer["shape"] == list(expected.shape)
        assert layer["kind"] == ("maps" if expected.ndim == 3 else "vector")
    np.testing.assert_allclose(answer["input"]["values"], x, rtol=1e-7)


def test_activations_of_1d_and_3d_models(client, served):
    signal = np.sin(np.linspace(0, 6, 40))[None].astype(np.float32)
    answer = post(client, "activations", "cnn1d", signal=" ".join(map(str, signal[0]))).json()
    assert answer["input"]["kind"] == "signals" and answer["layers"][0]["kind"] == "signals"
    np.testing.assert_allclose(answer["layers"][0]["values"],
                               feature_maps(served["cnn1d"].model, signal, "0")["0"][:16], rtol=1e-5, atol=1e-6)
    clip = np.random.default_rng(2).random((1, 16, 20, 20)).astype(np.float32)
    answer = post(client, "activations", "cnn3d", input=clip.tolist(), depth=3).json()
    first = answer["layers"][0]
    assert first["kind"] == "slices" and first["depth"] == 3 and first["depths"] == 16
    np.testing.assert_allclose(first["values"], feature_maps(served["cnn3d"].model, clip, "0")["0"][:16, 3],
                               rtol=1e-5, atol=1e-6)


def test_cell_of_a_convolution_is_its_dot_product(client, served):
    x = digit_input(2)
    cell = post(client, "cell", input=x.tolist(), layer=3, index=[5, 4, 6]).json()
    model = served["simple_cnn"].model
    maps = feature_maps(model, x, ["2", "3"])
    assert cell["value"] == pytest.approx(float(maps["3"][5, 4, 6]), rel=1e-5)
    d = cell["detail"]
    np.testing.assert_allclose(d["window"], maps["2"][:, 4:7, 6:9], rtol=1e-6)     # 8 channels, 3×3
    np.testing.assert_allclose(d["kernel"], model[3].weight.data[5], rtol=1e-6)
    np.testing.assert_allclose(d["products"], maps["2"][:, 4:7, 6:9] * model[3].weight.data[5], rtol=1e-5, atol=1e-7)
    assert d["bias"] == pytest.approx(float(model[3].bias.data[5]))
    assert d["sum"] == pytest.approx(cell["value"], rel=1e-4, abs=1e-6)
    assert [f["out"] for f in d["formula"]] == [11, 11]
    assert d["formula"][0]["text"].endswith("⌊(13 + 0 + 0 − 1·(3 − 1) − 1)/1⌋ + 1 = 11")
    # 3×3 after pool 2 after 3×3: unit (4, 6) sees rows 8…15 and columns 12…19 of the input
    assert cell["receptive_box"] == [[8, 15], [12, 19]]


def test_cell_of_pooling_relu_linear_and_softmax(client, served):
    x = digit_input(3)
    model = served["simple_cnn"].model
    maps = feature_maps(model, x, ["1", "2", "7"])
    pool = post(client, "cell", input=x.tolist(), layer=2, index=[1, 6, 6]).json()
    window = maps["1"][1, 12:14, 12:14]
    assert pool["value"] == pytest.approx(window.max())
    r, c = pool["detail"]["winner_input"]
    assert maps["1"][1, r, c] == pytest.approx(window.max()) and 12 <= r < 14 and 12 <= c < 14
    relu = post(client, "cell", input=x.tolist(), layer=1, index=[0, 0, 0]).json()
    pre = feature_maps(model, x, "0")["0"]
    assert relu["detail"]["kind"] == "relu" and relu["detail"]["cut"] == bool(pre[0, 0, 0] <= 0)
    assert relu["detail"]["cut_in_map"] == int((pre[0] <= 0).sum())
    dense = post(client, "cell", input=x.tolist(), layer=7, index=[4]).json()
    assert dense["detail"]["kind"] == "linear" and len(dense["detail"]["products"]) == 400
    assert dense["value"] == pytest.approx(float(maps["7"][4]), rel=1e-5)
    assert dense["detail"]["sum"] == pytest.approx(dense["value"], rel=1e-4)
    sm = post(client, "softmax", input=x.tolist()).json()
    logits = maps["7"].astype(np.float64)
    np.testing.assert_allclose(sm["exps"], np.exp(logits - logits.max()), rtol=1e-6)
    np.testing.assert_allclose(sm["probabilities"], softmax(logits), rtol=1e-6)


def test_explain_is_grad_cam_and_saliency(client, served):
    x = digit_input(4)
    model = served["simple_cnn"].model
    cam = post(client, "explain", input=x.tolist(), method="grad-cam", target=3).json()
    assert cam["target"] == 3 and cam["layer"] == "3"
    np.testing.assert_allclose(cam["heatmap"], grad_cam(model, x, 3), rtol=1e-6, atol=1e-9)
    sal = post(client, "explain", input=x.tolist(), method="saliency").json()
    assert sal["target"] == int(np.argmax(model(x[None])))
    np.testing.assert_allclose(sal["heatmap"], saliency_map(model, x), rtol=1e-6, atol=1e-9)


def test_backward_is_one_sgd_step_on_a_copy(client, served):
    x = digit_input(5)
    model = served["simple_cnn"].model
    before = copy.deepcopy(model.state_dict())
    step = post(client, "backward", input=x.tolist(), label=7, lr=0.5, lang="ko").json()
    loss = cl.CrossEntropyLoss()(model(x[None]), np.array([7]))
    assert step["loss"] == pytest.approx(float(loss), rel=1e-5)
    assert step["loss_after"] < step["loss"]
    for update in step["updates"]:
        np.testing.assert_allclose(update["after"], np.array(update["before"]) - 0.5 * np.array(update["grad"]),
                                   rtol=1e-5, atol=1e-7)
    assert [u["name"] for u in step["updates"]] == [n for n, _ in model.named_parameters()]
    assert step["layers"][-1]["grad"]["values"] == pytest.approx(step["dlogits"])
    assert "역전파" in step["explanation"]                          # explain's Korean narration
    for name, value in model.state_dict().items():                  # the served model is unchanged
        np.testing.assert_array_equal(value, before[name])


def test_examples_come_from_the_run_dataset(client, served):
    answer = client.get("/api/models/my-run/examples/3").json()
    data = served["my-run"].data
    assert answer["count"] == 12 and answer["label"] == int(data.y_test[3])
    np.testing.assert_allclose(answer["input"], data.x_test[3], rtol=1e-7)


def test_run_record(client):
    record = client.get("/api/models/my-run/run").json()
    assert record["run"] is True and record["status"] == "completed" and record["epochs_done"] == 2
    assert record["history"]["val_loss"] == [1.9, 1.4]
    assert record["test"]["test_accuracy"] == 0.5
    assert record["confusion_matrix"][3][3] == 1
    assert client.get("/api/models/simple_cnn/run").json() == {"run": False, "model": "simple_cnn"}


def test_upload_a_picture_and_a_signal(client, served):
    pixels = np.zeros((56, 56), dtype=np.uint8)
    pixels[10:46, 20:30] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    answer = client.post("/api/models/simple_cnn/input", content=buffer.getvalue(),
                         headers={"Content-Type": "image/jpeg"}).json()
    assert answer["shape"] == [1, 28, 28] and np.max(answer["input"]) > 0.8
    answer = client.post("/api/models/cnn1d/input", content=",".join(["0.5"] * 40).encode(),
                         headers={"Content-Type": "text/csv"}).json()
    assert answer["shape"] == [1, 40] and answer["input"][0] == [0.5] * 40


def test_labels_reuse_explain_korean(client):
    from convlens.inspect.explain.labels import KO

    ko = client.get("/api/labels/ko").json()
    assert ko["backward"] == KO["backward"] and ko["logits"] == KO["logits"]
    assert ko["prediction"] == "예측" and client.get("/api/labels/en").json()["prediction"] == "Prediction"


# -- errors ----------------------------------------------------------------------------------
ERRORS = [
    # (method, route, kwargs, status, message fragment)
    ("get", "/api/models/nope/network", {}, 404, "no model named 'nope' is served; served: simple_cnn"),
    ("post", "/api/models/nope/predict", {"json": {"input": [1]}}, 404, "no model named 'nope'"),
    ("get", "/api/labels/fr", {}, 404, "expected lang en or ko, received 'fr'"),
    ("post", "/api/models/simple_cnn/predict", {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
     422, "the body is not valid JSON"),
    ("post", "/api/models/simple_cnn/predict", {"content": b'{"input": [1]}', "headers": {"Content-Type": "text/plain"}},
     415, "expected Content-Type application/json, received text/plain"),
    ("post", "/api/models/simple_cnn/predict", {"json": [1, 2]}, 422, "Input should be a valid dictionary"),
    ("post", "/api/models/simple_cnn/predict", {"json": {}}, 422, "expected exactly one of 'input'"),
    ("post", "/api/models/simple_cnn/predict", {"json": {"input": [1], "image": "x"}}, 422,
     "received ['input', 'image']"),
    ("post", "/api/models/simple_cnn/predict", {"json": {"input": [[1, 2], [3]]}}, 400, "ragged or non-numeric"),
    ("post", "/api/models/simple_cnn/predict", {"json": {"input": [[[0.0] * 27] * 28]}}, 400,
     "expected 'input' of shape (1, 28, 28) for model 'simple_cnn', received shape (1, 28, 27)"),
    ("post", "/api/models/simple_cnn/predict", {"json": {"image": "%%%"}}, 400, "'image' is not valid base64"),
    ("post", "/api/models/simple_cnn/predict", {"json": {"image": base64.b64encode(b"plain text, no picture").decode()}},
     415, "the data is not a picture convlens can read"),
    ("post", "/api/models/simple_cnn/predict", {"json": {"signal": "1 2 3"}}, 400, "signals are for 1-D models"),
    ("post", "/api/models/cnn1d/predict", {"json": {"signal": "1 2 x"}}, 400, "the signal must be numbers"),
    ("post", "/api/models/cnn1d/predict", {"json": {"signal": "7"}}, 400,
     "the signal holds 1 value(s); the model takes 40"),
    ("post", "/api/models/cnn1d/predict", {"json": {"signal": "1 nan 3"}}, 400,
     "the signal holds 1 values that are not finite numbers"),
    ("post", "/api/models/cnn1d/predict", {"json": {"image": "aGVsbG8="}}, 400, "not pictures: send 'input' or 'signal'"),
    ("post", "/api/models/simple_cnn/cell", {"json": {"input": [[[0.0] * 28] * 28], "layer": 99, "index": [0]}}, 400,
     "expected a layer index in [0, 7], received 99"),
    ("post", "/api/models/simple_cnn/cell", {"json": {"input": [[[0.0] * 28] * 28], "layer": 0, "index": [8, 0, 0]}}, 400,
     "layer '0' (Conv2d) outputs shape (8, 26, 26): expected an index of 3 numbers inside it, received [8, 0, 0]"),
    ("post", "/api/models/simple_cnn/cell", {"json": {"input": [[[0.0] * 28] * 28]}}, 422, "layer: Field required"),
    ("post", "/api/models/simple_cnn/explain", {"json": {"input": [[[0.0] * 28] * 28], "method": "lime"}}, 400,
     "expected method one of grad-cam, grad-cam++, saliency, received 'lime'"),
    ("post", "/api/models/simple_cnn/explain", {"json": {"input": [[[0.0] * 28] * 28], "target": 10}}, 400,
     "expected a class in [0, 9], received 10"),
    ("post", "/api/models/simple_cnn/explain", {"json": {"input": [[[0.0] * 28] * 28], "layer": "9"}}, 400,
     "no layer named '9' in the model"),
    ("post", "/api/models/simple_cnn/backward", {"json": {"input": [[[0.0] * 28] * 28], "label": 12}}, 400,
     "expected a label in [0, 9], received 12"),
    ("post", "/api/models/simple_cnn/backward", {"json": {"input": [[[0.0] * 28] * 28], "label": 1, "lr": -1}}, 400,
     "expected a learning rate in (0, 10], received -1.0"),
    ("post", "/api/models/simple_cnn/backward", {"json": {"input": [[[0.0] * 28] * 28], "label": 1, "lang": "fr"}}, 400,
     "expected lang en or ko, received 'fr'"),
    ("get", "/api/models/my-run/examples/12", {}, 404, "expected an example index in [0, 11], received 12"),
    ("post", "/api/models/simple_cnn/input", {"content": b"", "headers": {"Content-Type": "image/png"}}, 400,
     "the upload is empty"),
    ("post", "/api/models/simple_cnn/input", {"content": b"GIF89a-not-really", "headers": {"Content-Type": "image/gif"}},
     415, "the data is not a picture"),
    ("post", "/api/models/simple_cnn/input", {"content": b"abc", "headers": {"Content-Type": "application/pdf"}}, 415,
     "expected an upload of type image/png"),
    ("post", "/api/models/cnn1d/input", {"content": b"\xff\xfe\x00", "headers": {"Content-Type": "text/csv"}}, 400,
     "the signal is not UTF-8 text"),
    ("post", "/api/models/simple_cnn/predict", {"content": b"x" * 400_000, "headers": {"Content-Type": "application/json"}},
     413, "the request body may hold at most 300,000 bytes, received 400,000 bytes"),
]


@pytest.mark.parametrize("method, route, kwargs, status, message", ERRORS,
                         ids=[f"{e[3]}-{e[1].rsplit('/', 1)[-1]}-{i}" for i, e in enumerate(ERRORS)])
def test_bad_requests_get_a_4xx_with_a_message(client, method, route, kwargs, status, message):
    response = getattr(client, method)(route, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_a_streamed_body_is_cut_at_the_limit(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 10_000
    response = client.post("/api/models/simple_cnn/predict", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "at most 300,000 bytes" in response.json()["detail"]


def test_a_picture_with_too_many_pixels_is_refused_before_decoding(client):
    buffer = io.BytesIO()
    Image.new("L", (2100, 2000)).save(buffer, format="PNG")      # 4.2 Mpx in a few kB
    response = client.post("/api/models/simple_cnn/input", content=buffer.getvalue(),
                           headers={"Content-Type": "image/png"})
    assert response.status_code == 413
    assert "2100×2000 = 4,200,000 pixels; at most 4,000,000" in response.json()["detail"]


def test_garbage_never_gives_a_500(client):
    bodies = [b"null", b"1", b'"s"', b'{"input": null}', b'{"input": "abc"}', b'{"input": {"a": 1}}',
              b'{"input": [[[1e999]]]}', b'{"image": 5}', b'{"signal": ["1"]}', b'{"input": [], "layer": "x"}',
              b'{"image": "data:image/png;base64,"}', b"\xff\xfe"]
    for route in ("predict", "activations", "cell", "softmax", "explain", "backward"):
        for body in bodies:
            response = client.post(f"/api/models/simple_cnn/{route}", content=body,
                                   headers={"Content-Type": "application/json"})
            assert 400 <= response.status_code < 500, (route, body, response.text)
            assert isinstance(response.json()["detail"], str)


def test_a_slow_request_does_not_block_others(served):
    """A forward pass that sleeps 1.5 s on a bright input is asked first; the same model's
    predictions of a dark input, and another model's, are answered meanwhile (the handlers run
    in a thread pool, each request on a copy of the model from the model's pool)."""
    from convlens.explorer.app import create_app
    from convlens.explorer.models import ServedModel

    class Slow(cl.Module):
        def forward(self, x):
            if x.max() > 0.5:
                time.sleep(1.5)
            return x.reshape(len(x), -1)[:, :10]

    slow = ServedModel("slow", "zoo", cl.Sequential(Slow()), (1, 28, 28), tuple("0123456789"))
    app = create_app({"slow": slow, "simple_cnn": served["simple_cnn"]})
    x = digit_input().tolist()
    dark = np.zeros((1, 28, 28)).tolist()

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://explorer") as c:
            started = time.perf_counter()
            slow_task = asyncio.create_task(c.post("/api/models/slow/predict", json={"input": x}))
            await asyncio.sleep(0.1)
            for _ in range(5):
                for name, body in (("simple_cnn", x), ("slow", dark)):
                    r = await c.post(f"/api/models/{name}/predict", json={"input": body})
                    assert r.status_code == 200
            fast_done = time.perf_counter() - started
            assert (await slow_task).status_code == 200
            return fast_done, time.perf_counter() - started

    fast_done, slow_done = asyncio.run(scenario())
    assert fast_done < 1.2 < slow_done, (fast_done, slow_done)
    assert slow.copies == 2           # the slow request's copy and one for all the fast ones


def test_json_answers_have_no_nan(client):
    x = np.zeros((1, 28, 28)).tolist()
    text = post(client, "activations", input=x).text
    json.loads(text)   # strict JSON: NaN would not parse in a browser
    assert "NaN" not in text


def test_cell_of_merge_layers_shows_each_input_and_the_operation(tmp_path):
    """A graph's Concatenate and Add: the cell names the tensors the layer reads, gives each
    one's value at the cell (for the concatenation, only the input the cell is copied from, at
    its own channel) and the operation; the values are convlens's own feature maps."""
    from fastapi.testclient import TestClient

    from convlens.explorer.app import create_app
    from convlens.explorer.models import open_models

    cl.manual_seed(3)
    graph = branches_graph()
    cl.save(graph, tmp_path / "branches.convlens", input_shape=(1, 28, 28))
    served = open_models([str(tmp_path / "branches.convlens")])
    x = digit_input(5)
    maps = feature_maps(graph, x, ["narrow_relu", "wide_relu", "pool", "refine", "sum", "cat"])
    with TestClient(create_app(served)) as client:
        nodes = {n["name"]: n["index"] for n in client.get("/api/models/branches.convlens/network").json()["nodes"]}
        cat = post(client, "cell", "branches.convlens", input=x.tolist(), layer=nodes["cat"], index=[6, 9, 11]).json()
        add = post(client, "cell", "branches.convlens", input=x.tolist(), layer=nodes["sum"], index=[2, 4, 5]).json()
    assert cat["detail"]["operation"] == "concat" and cat["input_shape"] == [4, 28, 28]
    assert [(i["name"], i["value"], i["index"]) for i in cat["detail"]["inputs"]] == [
        ("narrow_relu", None, None), ("wide_relu", pytest.approx(float(maps["wide_relu"][2, 9, 11])), [2, 9, 11])]
    assert cat["value"] == pytest.approx(float(maps["cat"][6, 9, 11]))
    terms = add["detail"]["inputs"]
    assert add["detail"]["operation"] == "+" and [t["name"] for t in terms] == ["pool", "refine"]
    assert terms[0]["value"] == pytest.approx(float(maps["pool"][2, 4, 5]))
    assert terms[1]["value"] == pytest.approx(float(maps["refine"][2, 4, 5]))
    assert add["value"] == pytest.approx(terms[0]["value"] + terms[1]["value"], rel=1e-6)
