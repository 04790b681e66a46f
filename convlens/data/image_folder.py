"""``folder:PATH``: your own images, one sub-folder per class.

Two layouts are understood::

    pets/                      pets/
        cat/  a.png b.jpg          train/  cat/ ...  dog/ ...
        dog/  c.jpeg ...           test/   cat/ ...  dog/ ...

On the left, a seeded stratified split holds out ``test_fraction`` of each class as the test
set; on the right, ``train/`` and ``test/`` are used as they are. Class names are the
sub-folder names, sorted (label 0 is the first name); sub-folders inside a class folder are
searched too. Hidden files and folders (``.DS_Store``) are ignored.

Reading (Pillow):

* PNG and JPEG files (``.png``, ``.jpg``, ``.jpeg``, any case) are read; JPEG orientation
  tags are applied.
* **Mixed modes are converted, not refused.** With ``color="auto"`` the dataset is RGB
  (3 channels) as soon as one image is in colour, and grayscale images are repeated into the
  three channels; otherwise it is grayscale (1 channel). Alpha channels are dropped;
  palette images are expanded; 16-bit grayscale is scaled to 8 bits. ``color="gray"`` or
  ``"rgb"`` forces one.
* Images are resized to ``image_size`` (bilinear, antialiased when shrinking). Without
  ``image_size`` all images must have one size; if they do not, the error lists the sizes
  found and asks for ``image_size``.
* **Unreadable files are skipped, with one warning listing them** (``on_error="skip"``, the
  default): one corrupt photo in a thousand should not cost the whole dataset, and the
  warning names every file left out, so nothing is lost silently. ``on_error="raise"``
  stops instead, with the same list. Files that are not PNG/JPEG are ignored and listed in
  the same warning. A class left with no readable image is an error either way.

Pixel values become float32 in [0, 1], shape ``(N, C, H, W)``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.registry import register_source

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
COLORS = ("auto", "gray", "rgb")
ON_ERROR = ("skip", "raise")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "La"}
_MAX_LISTED = 20


class SkippedFilesWarning(UserWarning):
    """Some files of an image folder were not used; the message lists them."""


def _visible_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.is_file():
            yield path


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if len(size) != 2 or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in size
    ):
        raise ValueError(f"expected image_size a positive int or (height, width), received {image_size!r}")
    return (int(size[0]), int(size[1]))


def _read_image(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """``(H, W)`` (grayscale) or ``(H, W, 3)`` (colour) uint8 pixels of one file."""
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened) or opened
        image.load()
        if image.mode in _GRAY_MODES:
            if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit or float gray
                values = np.asarray(image, dtype=np.float64)
                top = 65535.0 if values.max(initial=0) > 255 else 255.0
                image = Image.fromarray(np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8))
            else:
                image = image.convert("L")
        else:
            image = image.convert("RGBA" if image.mode == "P" else image.mode).convert("RGB")
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8).copy()


def _read_split(
    root: Path,
    base: Path,
    class_names: tuple[str, ...],
    size: tuple[int, int] | None,
    problems: list[str],
    ignored: list[str],
    *,
    require_each_class: bool,
) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Every readable image under ``root/<class>/``: pixels, labels, and file names relative to ``base``."""
    from PIL import Image

    pixels: list[np.ndarray] = []
    labels: list[int] = []
    files: list[str] = []
    for label, name in enumerate(class_names):
        folder = root / name
        count = 0
        for path in _visible_files(folder) if folder.is_dir() else ():
            shown = str(path.relative_to(base))
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                ignored.append(f"{shown}: not PNG/JPEG")
                continue
            try:
                pixels.append(_read_image(path, size))
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
                problems.append(f"{shown}: {type(err).__name__}: {err}")
                continue
            labels.append(label)
            files.append(shown)
            count += 1
        if count == 0 and require_each_class:
            raise ValueError(f"{folder}: class folder {name!r} has no readable PNG/JPEG image")
    return pixels, labels, files


def _to_array(pixels: list[np.ndarray], files: list[str], color: str, path: Path) -> np.ndarray:
    shapes = Counter(p.shape[:2] for p in pixels)
    if len(shapes) > 1:
        lines = []
        for (h, w), n in shapes.most_common():
            example = next(f for f, p in zip(files, pixels) if p.shape[:2] == (h, w))
            lines.append(f"  {h}x{w}: {n} image(s), e.g. {example}")
        raise ValueError(
            f"{path}: images of {len(shapes)} different sizes (height x width):\n"
            + "\n".join(lines)
            + "\npass image_size= (--image-size) to resize them all to one size"
        )
    rgb = color == "rgb" or (color == "auto" and any(p.ndim == 3 for p in pixels))
    out = np.empty((len(pixels), 3 if rgb else 1, *pixels[0].shape[:2]), dtype=np.float32)
    scale = np.float32(1.0 / 255.0)
    for i, p in enumerate(pixels):
        if rgb:
            out[i] = (p.transpose(2, 0, 1) if p.ndim == 3 else p[None]) * scale  # gray repeats into RGB
        elif p.ndim == 3:  # ITU-R 601-2 luma, as Pillow's convert("L")
            out[i, 0] = (p @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) * scale
        else:
            out[i, 0] = p * scale
    return out


def _report(path: Path, problems: list[str], ignored: list[str], total: int, on_error: str) -> None:
    if problems and on_error == "raise":
        raise ValueError(
            f"{path}: {len(problems)} unreadable image file(s) (on_error='raise'; "
            "on_error='skip' leaves them out with a warning):\n" + "\n".join(f"  {p}" for p in problems)
        )
    listed = [*problems, *ignored]
    if listed:
        shown = listed[:_MAX_LISTED] + (
            [f"... and {len(listed) - _MAX_LISTED} more"] if len(listed) > _MAX_LISTED else []
        )
        warnings.warn(
            f"{path}: skipped {len(listed)} of {total} files ({len(problems)} unreadable, "
            f"{len(ignored)} not PNG/JPEG):\n" + "\n".join(f"  {line}" for line in shown),
            SkippedFilesWarning,
            stacklevel=4,
        )


@register_source("folder", "your images: one sub-folder per class (PNG/JPEG), optional train/ and test/")
def load_image_folder(
    path: Path,
    image_size: int | tuple[int, int] | None = None,
    color: str = "auto",
    test_fraction: float = 0.2,
    split_seed: int = 0,
    on_error: str = "skip",
) -> Dataset:
    """Read an image folder; see the module docstring for the layout and the rules.

    Args:
        path: the folder holding the class folders (or ``train/`` and ``test/``).
        image_size: resize every image to ``size`` x ``size`` (an int) or ``(height, width)``.
        color: ``"auto"``, ``"gray"`` (1 channel) or ``"rgb"`` (3 channels).
        test_fraction: share of each class held out as the test set (without ``train/``/``test/``).
        split_seed: seed of that split, and of the order of a ``train/``/``test/`` layout.
        on_error: ``"skip"`` unreadable images with a warning, or ``"raise"``.

    Raises:
        FileNotFoundError: ``path`` is not a folder.
        ValueError: no class folders, an empty class, mismatched ``train/``/``test/`` classes,
            images of several sizes without ``image_size``, or unreadable files with
            ``on_error="raise"``.
    """
    path = Path(path)
    if color not in COLORS:
        raise ValueError(f"expected color in {COLORS}, received {color!r}")
    if on_error not in ON_ERROR:
        raise ValueError(f"expected on_error in {ON_ERROR}, received {on_error!r}")
    size = _image_size(image_size)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such folder (expected one sub-folder of images per class)")
    split_layout = (path / "train").is_dir() and (path / "test").is_dir()
    train_root = path / "train" if split_layout else path
    class_names = tuple(p.name for p in _class_folders(train_root))
    if not class_names:
        loose = sum(1 for p in train_root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        raise ValueError(
            f"{train_root}: expected one sub-folder per class (cat/, dog/...), found none"
            + (f"; move its {loose} image file(s) into class folders" if loose else "")
        )
    if split_layout:
        extra = sorted({p.name for p in _class_folders(path / "test")} - set(class_names))
        if extra:
            raise ValueError(
                f"{path / 'test'}: class folder(s) {extra} have no counterpart in {path / 'train'} "
                f"(classes there: {list(class_names)}); a test class must also be a training class"
            )
    problems: list[str] = []
    ignored: list[str] = []
    x_tr, y_tr, f_tr = _read_split(
        train_root, path, class_names, size, problems, ignored, require_each_class=True
    )
    x_te: list[np.ndarray] = []
    y_te: list[int] = []
    f_te: list[str] = []
    if split_layout:
        x_te, y_te, f_te = _read_split(
            path / "test", path, class_names, size, problems, ignored, require_each_class=False
        )
    _report(path, problems, ignored, len(x_tr) + len(x_te) + len(problems) + len(ignored), on_error)

    x = _to_array(x_tr + x_te, f_tr + f_te, color, path)
    y = np.array(y_tr + y_te, dtype=np.int64)
    c, h, w = x.shape[1:]
    how = f"{c}x{h}x{w}" + (" (resized)" if size is not None else "")
    if not split_layout:
        return Dataset.from_arrays(
            x,
            y,
            name=path.name,
            class_names=class_names,
            test_fraction=test_fraction,
            seed=split_seed,
            description=(
                f"images from {path}, {how}; stratified split, "
                f"{test_fraction:g} held out with seed {split_seed}"
            ),
        )
    rng = np.random.default_rng(split_seed)  # mix the classes, which are stored folder by folder
    train, test = rng.permutation(len(x_tr)), len(x_tr) + rng.permutation(len(x_te))
    return Dataset(
        x[train],
        y[train],
        x[test],
        y[test],
        class_names,
        path.name,
        f"images from {path}/train and {path}/test, {how}",
    )
