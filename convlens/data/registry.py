"""The dataset registry: ``load_dataset("mnist-5k")``, ``load_dataset("folder:/photos")``.

Two kinds of entries:

* **Named datasets**, ``loader(data_dir, [download], **options) -> Dataset``, registered with
  :func:`register_dataset`. ``data_dir`` is the folder the user pointed at (``--data-dir``) or
  ``None``; a loader that needs files searches it first, then its standard places, and
  downloads into the cache (:func:`convlens.data.download.cache_dir`) if it may.
* **Sources** of the user's own data, ``loader(path, **options) -> Dataset``, registered with
  :func:`register_source` under a prefix and named ``prefix:path``::

      folder:/data/pets      one sub-folder of PNG/JPEG images per class
      csv:/data/ecg.csv      one sequence per line: values..., label
      npz:/data/scans.npz    x_train, y_train, x_test, y_test arrays (or x, y)
      text:/data/notes.tsv   UTF-8 lines of text<TAB>label, as word or character ids

  A bare path also works when no dataset has that name: a folder is read as ``folder:``, a
  ``.csv`` file as ``csv:``, an ``.npz`` file as ``npz:``, a ``.tsv`` file as ``text:``.

Options are keyword arguments of the loader (``image_size=32``, ``num_samples=1000``); an
option a loader does not take is an error that lists the ones it does.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convlens.data.dataset import Dataset

Loader = Callable[..., Dataset]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset or source: its name, one-line description and loader."""

    name: str
    description: str
    loader: Loader
    is_source: bool = False

    def options(self) -> list[str]:
        """The keyword options the loader takes (besides ``data_dir``/``download``/the path)."""
        params = list(inspect.signature(self.loader).parameters.values())
        skip = {"data_dir", "download"}
        if self.is_source and params:
            params = params[1:]  # the path
        return [
            p.name
            for p in params
            if p.name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]


_REGISTRY: dict[str, DatasetInfo] = {}
_SOURCES: dict[str, DatasetInfo] = {}
_SUFFIX_SOURCES = {".csv": "csv", ".npz": "npz", ".tsv": "text"}


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register_dataset(name: str, description: str) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader`` under ``name`` (case and ``_``/``-`` do not matter)."""

    def decorate(loader: Loader) -> Loader:
        key = _normalize(name)
        if key in _REGISTRY:
            raise ValueError(f"a dataset named {key!r} is already registered")
        if ":" in key:
            raise ValueError(f"expected a dataset name without ':' (that marks a source), received {name!r}")
        _REGISTRY[key] = DatasetInfo(key, description, loader)
        return loader

    return decorate


def register_source(prefix: str, description: str) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader(path, **options)`` for names ``prefix:path``."""

    def decorate(loader: Loader) -> Loader:
        key = _normalize(prefix)
        if key in _SOURCES:
            raise ValueError(f"a source named {key!r} is already registered")
        _SOURCES[key] = DatasetInfo(key, description, loader, is_source=True)
        return loader

    return decorate


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`, sorted (sources are in :func:`available_sources`)."""
    return sorted(_REGISTRY)


def available_sources() -> list[str]:
    """Prefixes of the user-data sources, sorted: ``["csv", "folder", "npz"]``."""
    return sorted(_SOURCES)


def _unknown(name: str) -> ValueError:
    sources = ", ".join(f"{prefix}:PATH" for prefix in available_sources())
    return ValueError(
        f"unknown dataset {name!r}: expected one of {', '.join(available_datasets())}"
        + (f"; or your own data as {sources}" if sources else "")
    )


def parse_dataset_spec(spec: str) -> tuple[DatasetInfo, Path | None]:
    """The registry entry ``spec`` names and, for a source, its path.

    ``"mnist-5k"`` gives ``(info, None)``; ``"folder:/data/pets"`` gives the folder source and
    ``Path("/data/pets")``. The CLI can call this to check ``--dataset`` before loading.

    Raises:
        ValueError: unknown name or prefix, or a source without a path; the message lists the
            names and the ``prefix:PATH`` forms.
    """
    key = _normalize(spec)
    if key in _REGISTRY:
        return _REGISTRY[key], None
    prefix, sep, rest = spec.partition(":")
    if sep and _normalize(prefix) in _SOURCES:
        if not rest.strip():
            raise ValueError(f"expected a path after {prefix}:, e.g. {prefix}:/data/mine, received {spec!r}")
        return _SOURCES[_normalize(prefix)], Path(rest.strip()).expanduser()
    path = Path(spec).expanduser()
    if "folder" in _SOURCES and path.is_dir():
        return _SOURCES["folder"], path
    source = _SUFFIX_SOURCES.get(path.suffix.lower())
    if source in _SOURCES and path.is_file():
        return _SOURCES[source], path
    raise _unknown(spec)


def source_files(path: Path, folder_files: tuple[str, ...], what: str) -> list[Path]:
    """The files a source reads: ``[path]`` for a file, or a folder's ``folder_files``
    (``train.csv``, ``test.csv``); raises ``FileNotFoundError`` naming what is missing."""
    if path.is_dir():
        files = [path / name for name in folder_files]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(
                f"{path}: a {what} folder needs {' and '.join(folder_files)}; missing {', '.join(missing)}"
            )
        return files
    if path.is_file():
        return [path]
    raise FileNotFoundError(f"{path}: no such file or folder")


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry for ``name`` (or ``prefix:path``); unknown names raise ``ValueError``."""
    return parse_dataset_spec(name)[0]


#: bounds of the loaders' numeric options, checked before anything is read or allocated (an
#: option name means the same in every loader): ``image_size=100000`` would ask for 10¹⁰ pixels
#: per image
OPTION_BOUNDS: dict[str, tuple[float, float]] = {
    "image_size": (1, 4096),
    "split_seed": (0, 2**32 - 1),
    "seed": (0, 2**32 - 1),
    "length": (1, 100_000),
    "num_samples": (1, 1_000_000),
    "train_per_language": (1, 1_000_000),
    "test_per_language": (1, 1_000_000),
    "frames": (1, 1024),
    "size": (1, 1024),
    "min_count": (1, 10**9),
}


def _check_value(where: str, key: str, value: Any) -> None:
    """One option against :data:`OPTION_BOUNDS` (the loaders check types and their own lower
    bounds, with their own messages; the upper bounds, which none checks, are here)."""
    if key == "test_fraction" and isinstance(value, float) and not 0 < value < 1:
        raise ValueError(f"{where}: expected test_fraction a number strictly between 0 and 1, "
                         f"received {value!r}")
    numbers = value if isinstance(value, (tuple, list)) else [value]
    low, high = OPTION_BOUNDS.get(key, (-math.inf, math.inf))
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            continue
        if number > high or (key.endswith("seed") and number < low):
            raise ValueError(f"{where}: expected {key} in [{low:,}, {high:,}], received {value!r}")


def _check_options(info: DatasetInfo, options: dict[str, Any]) -> None:
    params = inspect.signature(info.loader).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return
    unknown = sorted(set(options) - set(info.options()))
    what = "source" if info.is_source else "dataset"
    if unknown:
        accepted = ", ".join(info.options()) or "none"
        raise ValueError(f"{what} {info.name!r} takes no option {', '.join(unknown)}; it accepts: {accepted}")
    for key, value in options.items():
        _check_value(f"{what} {info.name!r}, option {key}", key, value)


def parse_options(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Loader options from ``KEY=VALUE`` text (the CLI's ``--data-option``).

    ``["tokens=chars", "length=40"]`` gives ``{"tokens": "chars", "length": 40}``: whole
    numbers, decimals and ``true``/``false`` become numbers and booleans, anything else stays
    text; ``-`` in a key reads as ``_``. An item without ``=`` raises ``ValueError``.
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected KEY=VALUE, received {item!r}")
        value: Any = text.strip()
        if value.lower() in ("true", "false"):
            value = value.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(value)
                    break
                except ValueError:
                    pass
        options[key.strip().replace("-", "_")] = value
    return options


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    **options: Any,
) -> Dataset:
    """Load a registered dataset or the user's own data.

    Args:
        name: a name from :func:`available_datasets` (``"mnist-5k"``, ``"cifar10"``), or
            ``prefix:path`` for your own data (``"folder:/data/pets"``, ``"csv:ecg.csv"``,
            ``"npz:scans.npz"``), or a bare path to such a folder or file.
        data_dir: a folder searched for the dataset's files before the standard places; the
            download cache when given (datasets shipped inside a package, and sources, whose
            path says where the data is, ignore it).
        download: fetch missing files from the dataset's canonical source. ``False`` (or the
            environment variable ``CONVLENS_OFFLINE=1``) never touches the network.
        **options: the loader's own options, e.g. ``image_size=32`` for a folder.

    Returns:
        a :class:`Dataset`; see its docstring for shapes and tasks.
    """
    info, path = parse_dataset_spec(name)
    _check_options(info, options)
    if info.is_source:
        return info.loader(path, **options)
    kwargs: dict[str, Any] = dict(options)
    if "download" in inspect.signature(info.loader).parameters:
        kwargs["download"] = download
    return info.loader(None if data_dir is None else Path(data_dir), **kwargs)
