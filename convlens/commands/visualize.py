"""``convlens visualize RUN_DIR``: pictures of a trained model from its run folder.

    convlens visualize runs/my-run                          # everything, PNG, into runs/my-run/figures
    convlens visualize runs/my-run --what grad-cam --index 7 --class 3
    convlens visualize runs/my-run --what filters --what feature-maps --format svg --out figs
    convlens visualize digits.convlens --what grad-cam      # a model file: into digits-figures/

Each figure is written atomically (to a temporary file, then moved into place) and each path
is printed as it is written. Inputs for feature maps, Grad-CAM and saliency are test
examples of the run's dataset (``--index``); the confusion matrix and the misclassified grid
cover the run's whole test set.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from convlens.commands.guard import check_output_folder, no_traceback

KINDS = ("filters", "feature-maps", "seed003", "grad-cam", "saliency", "curves", "confusion",
         "misclassified")
# a model of token ids (text_cnn): the other pictures draw inputs as images or signals
TOKEN_KINDS = ("curves", "confusion")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).replace(".", "-") or "model"


class _Writer:
    """Saves figures under ``out`` in one format and reports each file."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt = out, fmt
        self.written: list[Path] = []

    def __call__(self, fig: Any, stem: str) -> None:
        from convlens.viz.overlay import save_figure

        path = save_figure(fig, self.out / f"{stem}.{self.fmt}", self.fmt)
        self.written.append(path)
        click.echo(f"wrote {path}")


class _Run:
    """The model, config and (on first use) data and test predictions of a run folder."""

    def __init__(self, run_dir: Path) -> None:
        from convlens.viz.run_folder import load_run

        self.dir = run_dir
        if run_dir.is_file():  # a .convlens model file: its metadata names the dataset
            self.model, self.config = _model_file_run(run_dir)
        else:
            self.model, self.config = load_run(run_dir)
        self._dataset: Any = None
        self._pred: np.ndarray | None = None

    @property
    def dataset(self) -> Any:
        if self._dataset is None:
            from convlens.viz.run_folder import load_run_dataset

            self._dataset = load_run_dataset(self.config)
        return self._dataset

    @property
    def predictions(self) -> np.ndarray:
        if self._pred is None:
            from convlens.viz.diagnostics import predict

            self._pred = predict(self.model, self.dataset.x_test)
        return self._pred

    def example(self, index: int) -> tuple[np.ndarray, int]:
        x, y = self.dataset.x_test, self.dataset.y_test
        if not 0 <= index < len(y):
            raise click.BadParameter(
                f"expected a test example index in [0, {len(y) - 1}], received {index}",
                param_hint="--index")
        return x[index], int(y[index])


def _model_file_run(path: Path) -> tuple[Any, dict[str, Any]]:
    """The model of a .convlens file and the run settings its ``info`` gives (model, dataset,
    normalization), so the pictures that need test data find it."""
    from convlens.io.formats import FormatError, load
    from convlens.viz.run_folder import RunFolderError

    try:
        model = load(path)
    except FormatError as err:
        raise RunFolderError(str(err)) from None
    info = model.info
    pre = info.preprocessing
    config: dict[str, Any] = {"model": info.name or path.stem, "dataset": info.dataset}
    if pre.mean is not None and pre.std is not None:
        config.update(normalize=True, normalization={"mean": list(pre.mean), "std": list(pre.std)})
    if pre.vocabulary:
        config["vocab_size"] = len(pre.vocabulary)
    return model, config


def _filters(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.cam import conv_layers
    from convlens.viz.filters import plot_filters

    layers = conv_layers(run.model)
    chosen = [(n, m) for n, m in layers if n == opts["layer"]]
    if opts["layer"] is not None and not chosen:
        click.echo(f"note: --layer {opts['layer']} is not a convolution; drawing the filters of every "
                   f"convolution ({', '.join(n for n, _ in layers)})")
    layers = chosen or layers
    for name, layer in layers:
        save(plot_filters(layer, name), f"filters-layer-{_safe(name)}")


def _feature_maps(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.feature_maps import describe_maps, feature_maps, plot_feature_maps

    x, y = run.example(opts["index"])
    modules = dict(run.model.named_modules())
    maps = feature_maps(run.model, x, None if opts["layer"] is None else [opts["layer"]])
    for name, value in maps.items():
        if value.ndim < 2:
            raise click.BadParameter(f"layer {name!r} has no spatial output ({value.shape})",
                                     param_hint="--layer")
        title = f"test example {opts['index']} (class {y}): " + describe_maps(name, modules[name], value)
        save(plot_feature_maps(value, title, x=x), f"feature-maps-{opts['index']}-layer-{_safe(name)}")


def _seed003(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.seed003 import plot_seed003

    x, y = run.example(opts["index"])
    if x.ndim != 3 or x.shape[0] != 1:
        click.echo(f"skipped seed003: it needs grey 2-D images, the run's inputs are {x.shape}")
        return
    save(plot_seed003(x, label=run.dataset.class_names[y]), f"seed003-feature-maps-{opts['index']}")


def _grad_cam(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.cam import plot_grad_cam

    x, y = run.example(opts["index"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_grad_cam(run.model, x, opts["target"], opts["layer"], label=y,
                            class_names=run.dataset.class_names)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    save(fig, f"grad-cam-{opts['index']}")


def _saliency(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.cam import plot_saliency

    x, y = run.example(opts["index"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_saliency(run.model, x, opts["target"], label=y, class_names=run.dataset.class_names)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    save(fig, f"saliency-{opts['index']}")


def _curves(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.training import History
    from convlens.viz import plot_history
    from convlens.viz.run_folder import read_metrics

    if run.dir.is_file():
        click.echo("skipped curves: a model file holds no training history (its run folder does)")
        return
    history_data = read_metrics(run.dir).get("history")
    history = History.from_dict(history_data) if isinstance(history_data, dict) else History()
    if history.epochs == 0:
        click.echo("skipped curves: metrics.json holds no finished epoch")
        return
    path = plot_history(history, save.out / f"curves.{save.fmt}",
                        title=f"{run.config.get('model')} on {run.config.get('dataset')}")
    save.written.append(path)
    click.echo(f"wrote {path}")


def _confusion(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.diagnostics import confusion_matrix, plot_confusion_matrix

    ds = run.dataset
    cm = confusion_matrix(ds.y_test, run.predictions, ds.num_classes)
    title = (f"{run.config.get('model')} on {ds.name}, {len(ds.y_test)} test examples: "
             f"accuracy {np.trace(cm) / cm.sum():.2%}")
    save(plot_confusion_matrix(cm, ds.class_names, title=title), "confusion-matrix")


def _misclassified(run: _Run, save: _Writer, opts: dict[str, Any]) -> None:
    from convlens.viz.diagnostics import plot_misclassified

    ds = run.dataset
    save(plot_misclassified(ds.x_test, ds.y_test, run.predictions, ds.class_names,
                            max_examples=opts["max_examples"]), "misclassified")


def _token_kinds(kinds: tuple[str, ...], everything: bool) -> tuple[str, ...]:
    """The pictures of a run on token ids: curves and confusion; others are refused."""
    other = [k for k in kinds if k not in TOKEN_KINDS]
    if other and not everything:
        raise click.BadParameter(
            f"{', '.join(other)} draw the inputs as images or signals, but this run's model reads "
            f"token ids: choose {' or '.join(TOKEN_KINDS)}", param_hint="--what")
    if other:
        click.echo(f"a model of token ids: drawing {' and '.join(TOKEN_KINDS)} only")
    return tuple(k for k in kinds if k in TOKEN_KINDS)


_DRAW: dict[str, Callable[[_Run, _Writer, dict[str, Any]], None]] = {
    "filters": _filters, "feature-maps": _feature_maps, "seed003": _seed003, "grad-cam": _grad_cam,
    "saliency": _saliency, "curves": _curves, "confusion": _confusion, "misclassified": _misclassified,
}


@click.command()
@no_traceback
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--what", "what", multiple=True, default=("all",), show_default=True,
              type=click.Choice(("all",) + KINDS),
              help="Which pictures; repeat the option for several.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the pictures.  [default: RUN_DIR/figures]")
@click.option("--format", "fmt", type=click.Choice(("png", "svg")), default="png", show_default=True,
              help="File format.")
@click.option("--index", type=click.IntRange(min=0), default=0, show_default=True,
              help="Test example shown by feature-maps, seed003, grad-cam and saliency.")
@click.option("--class", "target", type=click.IntRange(min=0), default=None,
              help="Class explained by grad-cam and saliency.  [default: the predicted class]")
@click.option("--layer", default=None,
              help="Dotted layer name (e.g. 3) for grad-cam, feature-maps and filters.  "
              "[default: grad-cam the last convolution, the others every layer]")
@click.option("--max-examples", type=click.IntRange(min=1), default=36, show_default=True,
              help="Most examples drawn in the misclassified grid.")
def visualize(run_dir: Path, what: tuple[str, ...], out: Path | None, fmt: str, index: int,
              target: int | None, layer: str | None, max_examples: int) -> None:
    """Draw filters, feature maps, Grad-CAM, saliency, curves, confusion matrix and mistakes
    of the model trained in RUN_DIR (a folder written by `convlens train`), or of a .convlens
    model file (its metadata names the dataset; figures go to NAME-figures beside it).

    \b
    Pictures (--what):
      filters        the kernels of every convolution
      feature-maps   every layer's output for test example --index
      seed003        the padding figure of seed note 003 (a CNN study note convlens started
                     from): 3 edge filters, padding 0 and 1, on that example
      grad-cam       Grad-CAM and Grad-CAM++ of that example (--class, --layer)
      saliency       the input gradient of that example's class score
      curves         loss and accuracy per epoch, train against held-out data
      confusion      confusion matrix on the test set
      misclassified  the test examples the model gets wrong, with predicted and true class
    """
    from convlens.viz.cam import resolve_layer
    from convlens.viz.run_folder import RunFolderError

    kinds = KINDS if "all" in what else tuple(k for k in KINDS if k in what)
    try:
        run = _Run(run_dir)
    except RunFolderError as err:
        raise click.ClickException(str(err)) from err
    if "vocab_size" in run.config:
        kinds = _token_kinds(kinds, "all" in what)
    if layer is not None:
        try:
            resolve_layer(run.model, layer)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--layer") from err
    default = run_dir.with_name(f"{run_dir.stem}-figures") if run_dir.is_file() else run_dir / "figures"
    out_dir = out if out is not None else default
    check_output_folder(out_dir)
    save = _Writer(out_dir, fmt)
    opts = {"index": index, "target": target, "layer": layer, "max_examples": max_examples}
    try:
        if target is not None and target >= run.dataset.num_classes:
            raise click.BadParameter(
                f"expected a class in [0, {run.dataset.num_classes - 1}], received {target}",
                param_hint="--class")
        for kind in kinds:
            _DRAW[kind](run, save, opts)
    except RunFolderError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{len(save.written)} file(s) in {out_dir}")


COMMANDS = [visualize]
