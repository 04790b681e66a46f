"""Classic architectures (and EfficientNet-B0, RegNetX-400MF), built by torchvision with random
weights and exported by PyTorch at several opsets, load in convlens and match onnxruntime (relative error ≤ 1e-4 of the largest
output); an AlexNet with local response normalization written by convlens reads back; an imported ResNet-50 at 224×224 works with summary, receptive fields and Grad-CAM.

Sizes keep CI short: 32×32 to 64×64 inputs where the architecture allows. torchvision's AlexNet and VGG
end in an adaptive pooling to 6×6 / 7×7 and classifiers of 37 M / 103 M weights: AlexNet runs at
224×224 with a narrower classifier (the feature layers are torchvision's), VGG-11 with batch
norm at 32×32 with the pooling set to 1×1 and a narrower classifier. Every network's batch-norm
statistics and weights are re-drawn so no layer is an identity and outputs vary per example.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn
from torchvision_models import models

import convlens as cl


def randomized(net: nn.Module, seed: int = 0) -> nn.Module:
    """He-normal weights (signals keep their size through deep ReLU stacks), small random
    biases and batch-norm statistics."""
    torch.manual_seed(seed)
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                module.bias.data.uniform_(-0.1, 0.1)
        elif isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def alexnet():
    net = models.alexnet(num_classes=10)
    net.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256 * 6 * 6, 256), nn.ReLU(inplace=True),
                                   nn.Dropout(), nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Linear(256, 10))
    return net


def alexnet_lrn():
    """AlexNet as Krizhevsky et al. (2012) wrote it: local response normalization after the
    first two convolutions (n = 5, α = 1e-4, β = 0.75, k = 2), at 63×63 with fewer channels.
    PyTorch exports LocalResponseNorm as a composition (Pow, Pad, AveragePool, If), not as ONNX
    LRN, so this one is written by convlens (with the same weights) and read back."""
    return nn.Sequential(
        nn.Conv2d(3, 24, 11, stride=4, padding=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2), nn.Conv2d(24, 64, 5, padding=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.Conv2d(64, 96, 3, padding=1), nn.ReLU(),
        nn.Conv2d(96, 64, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64 * 3 * 3, 10))


def vgg11_bn():
    net = models.vgg11_bn(num_classes=10)
    net.avgpool = nn.AdaptiveAvgPool2d(1)
    net.classifier = nn.Sequential(nn.Linear(512, 128), nn.ReLU(True), nn.Dropout(), nn.Linear(128, 10))
    return net


# name: (builder, input size, opsets the PyTorch exporter writes it in)
ARCHITECTURES = {
    "alexnet": (alexnet, 224, [9]),
    "vgg11_bn": (vgg11_bn, 32, [11]),
    "googlenet": (lambda: models.googlenet(num_classes=10, aux_logits=False, init_weights=False), 48, [13]),
    "densenet121": (lambda: models.densenet121(num_classes=10), 32, [17]),
    "squeezenet1_0": (lambda: models.squeezenet1_0(num_classes=10), 64, [9]),
    "squeezenet1_1": (lambda: models.squeezenet1_1(num_classes=10), 64, [18]),
    "shufflenet_v2": (lambda: models.shufflenet_v2_x0_5(num_classes=10), 32, [9, 13]),
    "mobilenet_v2": (lambda: models.mobilenet_v2(num_classes=10), 32, [11]),
    "mobilenet_v3_small": (lambda: models.mobilenet_v3_small(num_classes=10), 32, [13, 17]),
    "efficientnet_b0": (lambda: models.efficientnet_b0(num_classes=10), 32, [17]),
    "regnet_x_400mf": (lambda: models.regnet_x_400mf(num_classes=10), 32, [13]),
}


def export(net, size, path, opset, batch=2):
    x = torch.from_numpy(np.random.default_rng(opset).standard_normal((batch, 3, size, size)).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), opset_version=opset, dynamo=False, input_names=["image"],
                          dynamic_axes={"image": {0: "N"}})
    return x.numpy()


def assert_close_to_onnxruntime(model, path, x, input_name="image"):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = session.run(None, {input_name: x})[0]
    with cl.no_grad():
        ours = model(x)
    assert ours.shape == reference.shape
    spread = np.ptp(reference, axis=0 if len(x) > 1 else None)  # examples (or classes) differ
    assert spread.max() > 1e-3 * np.abs(reference).max()
    relative = np.abs(ours - reference).max() / np.abs(reference).max()
    assert relative <= 1e-4, relative


@pytest.mark.parametrize("name, opset", [(n, o) for n, (_, _, opsets) in ARCHITECTURES.items() for o in opsets])
def test_architecture_matches_onnxruntime(name, opset, tmp_path):
    build, size, _ = ARCHITECTURES[name]
    net = randomized(build())
    path = tmp_path / f"{name}.onnx"
    x = export(net, size, path, opset)
    model = cl.from_onnx(path)
    assert_close_to_onnxruntime(model, path, x)
    if name.startswith("mobilenet"):
        assert any(getattr(layer, "groups", 1) > 1 for _, layer in model.named_children())  # depthwise


@pytest.mark.parametrize("opset", [13, 17])
def test_alexnet_with_local_response_norm(opset, tmp_path):
    net = randomized(alexnet_lrn())
    twin = cl.Sequential(
        cl.Conv2d(3, 24, 11, stride=4, padding=2), cl.ReLU(), cl.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        cl.MaxPool2d(3, 2), cl.Conv2d(24, 64, 5, padding=2), cl.ReLU(), cl.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        cl.MaxPool2d(3, 2, ceil_mode=True), cl.Conv2d(64, 96, 3, padding=1), cl.ReLU(),
        cl.Conv2d(96, 64, 3, padding=1), cl.ReLU(), cl.Flatten(), cl.Linear(64 * 3 * 3, 10))
    twin.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 63, 63)).astype(np.float32)
    path = cl.export_onnx(twin, tmp_path / "alexnet_lrn.onnx", input_shape=(3, 63, 63), opset=opset)
    assert [n.op_type for n in onnx.load(str(path)).graph.node].count("LRN") == 2
    model = cl.from_onnx(path)
    assert sum(isinstance(layer, cl.LocalResponseNorm) for _, layer in model.named_children()) == 2
    assert_close_to_onnxruntime(model, path, x, input_name="input")
    with torch.no_grad():
        reference = net(torch.from_numpy(x)).numpy()
    assert np.abs(model(x) - reference).max() <= 1e-4 * np.abs(reference).max()


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory):
    path = tmp_path_factory.mktemp("resnet") / "resnet50.onnx"
    net = randomized(models.resnet50(num_classes=10))
    x = export(net, 224, path, 17, batch=1)
    return cl.from_onnx(path), path, x


def test_resnet50_at_224_matches_onnxruntime(resnet50):
    model, path, x = resnet50
    assert_close_to_onnxruntime(model, path, x)
    assert "layer4.2.conv3.weight" in model.state_dict()  # PyTorch's names (batch norm folded in)


def test_summary_receptive_fields_and_grad_cam_on_imported_resnet50(resnet50):
    from convlens.inspect.receptive_field import receptive_fields
    from convlens.viz.cam import grad_cam

    model, _, x = resnet50
    table = cl.summary(model, (3, 224, 224), print_table=False)
    rows = {row.name: row for row in table.rows}
    assert {"conv1", "layer1.0.downsample.0", "layer4.2.conv3", "fc"} <= set(rows)
    assert table.total_params == sum(p.size for p in model.parameters())
    assert rows["layer4.2.conv3"].output_shape == (1, 2048, 7, 7)
    fields = {f.name: f.receptive_field for f in receptive_fields(model, (3, 224, 224))}
    assert fields["conv1"].size == (7, 7)
    assert fields["maxpool"].size == (11, 11)      # 7 + (3 − 1)·2
    assert fields["layer1.0.conv2"].size == (19, 19)  # through the bottleneck's 3×3: 11 + 2·4
    assert fields["layer4.2.conv3"].size[0] >= 224  # ResNet-50's last layer sees the whole image
    heat = grad_cam(model, x[0], layer="layer4.2.conv3")
    assert heat.shape == (224, 224) and np.isfinite(heat).all() and heat.max() > 0
