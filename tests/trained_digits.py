"""Test helper: LeNet-5 trained for 2 epochs on mnist-5k (93 % test accuracy, about 3 s on one
core), saved once per test session as a .convlens file; and digits drawn as a paint program
would draw them (black strokes on a white 400×400 canvas)."""

from pathlib import Path

import numpy as np

import convlens as cl


def trained_digits_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.getbasetemp() / "trained-lenet5-mnist-5k.convlens"
    if not path.exists():
        from convlens.data import DataLoader, load_dataset

        ds = load_dataset("mnist-5k")
        cl.manual_seed(0)
        model = cl.models.get_model("lenet5")
        optimizer = cl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loader = DataLoader(ds.x_train, ds.y_train, 32, shuffle=True, seed=0)
        cl.fit(model, cl.CrossEntropyLoss(), optimizer, loader, epochs=2, verbose=False)
        result = cl.evaluate(model, cl.CrossEntropyLoss(), ds.x_test, ds.y_test)
        cl.save(model, path, dataset=ds, name="lenet5", metrics={"test_accuracy": result.accuracy})
    return path


def draw_digit(digit: str, mode: str = "RGB", size: int = 400, width: int = 28):
    """A Pillow image of ``digit`` (7, 1, 0, 4 or 2) in black strokes ``width`` pixels wide (of
    400) on white (on transparent for mode RGBA), as drawn with a brush in a paint program."""
    from PIL import Image, ImageDraw

    background = (255, 255, 255, 0) if mode == "RGBA" else "white"
    image = Image.new(mode, (size, size), background)
    draw = ImageDraw.Draw(image)
    ink = (0, 0, 0, 255) if mode == "RGBA" else "black"
    s = size / 400
    strokes = {
        "7": [[(120, 90), (290, 90), (170, 330)]],
        "1": [[(200, 70), (200, 330)], [(200, 70), (150, 120)]],
        "4": [[(140, 80), (140, 200), (260, 200)], [(250, 80), (250, 330)]],
        "2": [[(130, 90), (270, 90), (270, 200), (130, 200), (130, 320), (270, 320)]],
    }
    if digit == "0":
        draw.ellipse([120 * s, 70 * s, 280 * s, 330 * s], outline=ink, width=round(width * s))
    for line in strokes.get(digit, []):
        draw.line([(x * s, y * s) for x, y in line], fill=ink, width=round(width * s))
    return image


def digit_png(ds, index: int, path: Path) -> Path:
    """Test digit ``index`` of mnist-5k as an 8-bit grayscale PNG (white on black, as stored)."""
    from PIL import Image

    Image.fromarray(np.rint(ds.x_test[index, 0] * 255).astype(np.uint8)).save(path)
    return path
