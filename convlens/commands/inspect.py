"""``convlens models | summary | explain | gradcheck | parity``: look inside a network from the shell.

    convlens models                                    the zoo: parameters, source, accuracy
    convlens summary lenet5 --input-shape 1,28,28      per-layer table
    convlens summary text_cnn --input-shape 24         a text model: L token ids
    convlens explain                                   seed 004's worked step, with numbers
    convlens explain --model simple_cnn --format html --out step.html
    convlens gradcheck seed_net                        each layer's gradient vs finite differences
    convlens parity lenet5                             forward and gradients vs PyTorch
    convlens summary net.json                          a model defined in a JSON file (a
                                                       graph of the functional API)

The lead registers ``COMMANDS`` on the ``convlens`` group in ``convlens/cli.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from convlens.commands.guard import SEED, FiniteFloat, check_output_file, no_traceback
from convlens.inspect.explain.labels import LANGUAGES
from convlens.inspect.explain.render import FORMATS
from convlens.layers.container import Sequential
from convlens.layers.dropout import Dropout
from convlens.layers.module import Module


def _model_names() -> list[str]:
    from convlens.models import available_models

    return available_models()


def _optimizer_names() -> list[str]:
    from convlens.optim import OPTIMIZERS

    return sorted(OPTIMIZERS)


def _parse_shape(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``'1,28,28' -> (1, 28, 28)``: channels first, no batch axis."""
    if value is None:
        return None
    try:
        shape = tuple(int(v) for v in value.replace("x", ",").split(","))
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated sizes such as 1,28,28 (C,H,W), "
            f"received {value!r}") from None
    if not shape or any(n < 1 for n in shape):
        raise click.BadParameter(f"sizes must be positive, received {value!r}")
    return shape


# a model of token ids (text_cnn) gets L ids, as many as words-lang's words have
TEXT_INPUT_SHAPE = (24,)


def _refuse_tokens(name: str, command: str) -> None:
    """Stop ``command`` (which feeds random float inputs) for a model of token ids."""
    from convlens.commands.model_arg import is_zoo_name
    from convlens.models import takes_tokens

    if is_zoo_name(name) and takes_tokens(name):
        raise click.ClickException(
            f"{name} reads integer token ids, so `convlens {command}` cannot feed it random float "
            f"inputs; `convlens summary {name} --input-shape L` shows its layers")


def _build(name: str, input_shape: tuple[int, ...], option: str = "--input-shape") -> Module:
    from convlens.models import get_model, takes_tokens

    if takes_tokens(name) and len(input_shape) != 1:
        raise click.BadParameter(
            f"{name} reads token ids: expected one size L (the sequence length, e.g. 24), "
            f"received {','.join(map(str, input_shape))}", param_hint=option)
    _check_rank(name, input_shape, option)
    try:
        if takes_tokens(name):
            return get_model(name)
        if input_shape[0] != 1:
            return get_model(name, in_channels=input_shape[0])
        return get_model(name)
    except (TypeError, ValueError) as err:
        raise click.ClickException(f"cannot build {name!r} for input {input_shape}: {err}") from err


def _zoo_input_shape(name: str) -> tuple[int, ...]:
    """The input (no batch axis) zoo model ``name`` is made for, when ``--input-shape`` is left
    out: 24 token ids for a text model, 1,40 for cnn1d, 1,16,20,20 for cnn3d, else 1,28,28
    (1,28,28 given to cnn1d was read as a batch of one 28-channel signal)."""
    from convlens.explorer.models import DEFAULT_INPUT, ZOO_INPUTS
    from convlens.models import takes_tokens

    return TEXT_INPUT_SHAPE if takes_tokens(name) else ZOO_INPUTS.get(name, DEFAULT_INPUT)[0]


def _zoo_rank(name: str) -> int | None:
    """Axes of the input zoo model ``name`` takes, batch included (4 for an image model)."""
    from convlens.inspect.summary import input_rank
    from convlens.models import get_model

    return input_rank(get_model(name))


def _check_rank(name: str, shape: tuple[int, ...], option: str = "--input-shape",
                rank: int | None = None) -> None:
    """Refuse an input size with the wrong number of axes before the model is built for it
    (``rank``: the axes the model takes, batch included; default: zoo model ``name``'s)."""
    rank = rank if rank is not None else _zoo_rank(name)
    if rank is not None and len(shape) != rank - 1:
        sizes = {1: "L", 2: "C,L", 3: "C,H,W", 4: "C,D,H,W"}.get(rank - 1, f"{rank - 1} sizes")
        raise click.BadParameter(f"{name} takes inputs of {rank - 1} size{'s' if rank > 2 else ''} "
                                 f"({sizes}, no batch axis), received {','.join(map(str, shape))}",
                                 param_hint=option)


def _split_batch(shape: tuple[int, ...], batch_size: int | None, rank: int | None
                 ) -> tuple[tuple[int, ...], int]:
    """``--input-shape`` N,C,H,W (as many sizes as the model's rank): the batch size comes
    first; C,H,W: ``--batch-size`` or 1. Returns (shape without the batch axis, batch size)."""
    if rank is not None and len(shape) == rank:
        if batch_size is not None and batch_size != shape[0]:
            raise click.BadParameter(
                f"{','.join(map(str, shape))} starts with the batch size {shape[0]}, but "
                f"--batch-size {batch_size} was given too", param_hint="--input-shape")
        return shape[1:], shape[0]
    return shape, batch_size or 1


def _check_memory(model: Module, shape: tuple[int, ...], batch_size: int,
                  dtype: Any = np.float32, option: str = "--input-shape") -> None:
    """Refuse, before the forward pass, an input that would need more than half the memory
    available (measured on a small probe, :func:`convlens.inspect.summary.estimate_bytes`)."""
    from convlens.inspect.summary import LARGE_INPUT_VALUES, available_memory, estimate_bytes, format_bytes

    typed = ",".join(map(str, shape))
    if batch_size * int(np.prod(shape, dtype=np.float64)) > LARGE_INPUT_VALUES:
        need, available = estimate_bytes(model, shape, batch_size, dtype), available_memory()
        if available is not None and need > available // 2:
            raise click.BadParameter(
                f"{typed} with batch size {batch_size} would need about {format_bytes(need)} of "
                f"memory, more than half of the {format_bytes(available)} available; choose a "
                "smaller input", param_hint=option)


def _model_and_shape(name: str, input_shape: tuple[int, ...] | None) -> tuple[Module, tuple[int, ...]]:
    """MODEL built or opened (a zoo name, a definition, a model file or a run folder) and the
    input shape to feed it: ``--input-shape``, else what the model records (a graph's
    ``cl.Input``), else 1,28,28."""
    from convlens.commands.model_arg import info_input_shape, is_zoo_name, open_model

    if is_zoo_name(name):
        shape = input_shape or _zoo_input_shape(name)
        return _build(name, shape), shape
    from convlens.inspect.summary import input_rank

    model = open_model(name)
    shape = input_shape or info_input_shape(model) or (1, 28, 28)
    _check_rank(name, shape, rank=input_rank(model))
    return model, shape


def _write(text: str, out: Path | None) -> None:
    """Echo ``text``, or write it atomically (UTF-8) to ``out``."""
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from convlens.io import atomic_write

    with atomic_write(out, "wb") as handle:
        handle.write(text.encode("utf-8"))
    click.echo(f"wrote {out}")


_INPUT_SHAPE = click.option(
    "--input-shape", default=None, callback=_parse_shape,
    help="Input size C,H,W (no batch axis).  [default: the input shape a model file or "
         "definition records (a graph's Input), a zoo model's usual input (cnn1d 1,40, "
         "cnn3d 1,16,20,20), else 1,28,28]")
_OUT = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                    help="Write to this file (atomically) instead of the terminal.")


@click.command()
@no_traceback
@click.argument("model_name", metavar="MODEL")
@click.option("--input-shape", default=None, callback=_parse_shape,
              help="Input size C,H,W, or N,C,H,W with the batch size first; L, the number of "
              "token ids, for a text model.  [default: the input shape a model file or definition "
              "records, else 1,28,28; 24 for a text model]")
@click.option("--batch-size", default=None, type=click.IntRange(min=1),
              help="Examples in the measured batch (memory grows with it).  [default: N of "
              "--input-shape, else 1]")
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "markdown"]), help="Table format.")
@_OUT
def summary(model_name: str, input_shape: tuple[int, ...] | None, batch_size: int | None, fmt: str,
            out: Path | None) -> None:
    """Per-layer table of MODEL: output shapes, parameters, receptive fields, mult-adds, memory.

    MODEL is a zoo model name, a model definition (.toml, .json), a .convlens model file or a
    run folder.

    \b
    Examples:
      convlens summary lenet5
      convlens summary seed_net --input-shape 1,28,28 --batch-size 32
      convlens summary text_cnn --input-shape 40
      convlens summary my_net.toml
      convlens summary runs/my-run
    """
    from convlens.commands.model_arg import info_input_shape, is_zoo_name, open_model, reads_tokens
    from convlens.inspect.summary import input_rank
    from convlens.inspect.summary import summary as build_summary

    check_output_file(out)
    if is_zoo_name(model_name):
        if input_shape is None:
            input_shape = _zoo_input_shape(model_name)
        input_shape, batch_size = _split_batch(input_shape, batch_size, _zoo_rank(model_name))
        model = _build(model_name, input_shape)
    else:
        model = open_model(model_name)
        if input_shape is None:
            fallback = TEXT_INPUT_SHAPE if reads_tokens(model) else (1, 28, 28)
            input_shape = info_input_shape(model) or fallback
        input_shape, batch_size = _split_batch(input_shape, batch_size, input_rank(model))
        _check_rank(model_name, input_shape, rank=input_rank(model))
    _check_memory(model, input_shape, batch_size, np.int64 if reads_tokens(model) else np.float32)
    try:
        table = build_summary(model, input_shape, batch_size=batch_size, print_table=False)
    except ValueError as err:  # named by the zoo name the user typed, not the class
        message = str(err).replace(f"summary: {type(model).__name__} ", f"{model_name} ", 1)
        raise click.ClickException(message) from err
    _write(str(table) + "\n" if fmt == "text" else table.to_markdown(), out)


@click.command()
@no_traceback
@click.option("--model", "model_name", default=None, metavar="MODEL",
              help="A zoo model (" + ", ".join(_model_names()) + "), a model definition (.toml, .json), "
              "a .convlens model file or a run folder, with a random input (default: the worked "
              "example of seed note 004).")
@click.option("--input-shape", default=None, callback=_parse_shape,
              help="Input size C,H,W for --model. [default: the input shape a model file or "
                   "definition records (a graph's Input), else 1,28,28]")
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A real input for --model: a .npy array (C,H,W) or (N,C,H,W) "
              "((C,L) or (N,C,L) for a signal model).")
@click.option("--label", default=None, type=click.IntRange(min=0),
              help="Class of the input for --model. [default: a random class]")
@click.option("--optimizer", default="sgd", show_default=True, type=click.Choice(_optimizer_names()),
              help="Update rule of the step.")
@click.option("--lr", default=0.1, show_default=True, type=FiniteFloat(0),
              help="Learning rate.")
@click.option("--momentum", default=0.0, show_default=True, type=FiniteFloat(0, 1),
              help="Momentum (--optimizer sgd).")
@click.option("--seed", default=0, show_default=True, type=SEED,
              help="Seeds the model's weights and the random input.")
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(FORMATS),
              help="Output format.")
@click.option("--lang", default="en", show_default=True, type=click.Choice(sorted(LANGUAGES)),
              help="Language of the labels (ko: Korean, as in the seed notes).")
@click.option("--max-values", default=64, show_default=True, type=click.IntRange(min=1),
              help="Arrays with more values are summarized.")
@click.option("--max-layers", default=40, show_default=True, type=click.IntRange(min=1),
              help="With more layer calls (a large graph model), each pass is one table.")
@_OUT
def explain(model_name: str | None, input_shape: tuple[int, ...] | None, input_file: Path | None,
            label: int | None, optimizer: str, lr: float, momentum: float, seed: int, fmt: str,
            lang: str, max_values: int, max_layers: int, out: Path | None) -> None:
    """Follow one training step and narrate it with the actual numbers.

    Without --model: the hand-worked example of seed note 004, the lecture slides "Image
    processing and CNN" that convlens started from (4×4 input, 3×3 convolution, ReLU, max
    pooling, dense layer, softmax and cross-entropy, SGD with lr 0.1), every dot product
    written out, with the correct values.

    \b
    Examples:
      convlens explain
      convlens explain --lang ko --format html --out step.html
      convlens explain --optimizer adam --lr 0.01
      convlens explain --model simple_cnn --input-shape 1,12,12
    """
    import convlens as cl
    from convlens.inspect.explain import explain as run_explain
    from convlens.inspect.explain import seed004_example

    check_output_file(out)
    options: dict[str, Any] = {"lr": lr}
    if momentum:
        if optimizer != "sgd":
            raise click.BadParameter("applies to --optimizer sgd only", param_hint="--momentum")
        options["momentum"] = momentum
    if model_name is None:
        if input_shape is not None or input_file is not None or label is not None:
            raise click.UsageError("--input-shape, --input and --label go with --model")
        model: Module
        model, x, y, _ = seed004_example()
    else:
        from convlens.commands.model_arg import info_input_shape, is_zoo_name, open_model, reads_tokens
        from convlens.inspect.summary import input_rank

        loaded = None
        if is_zoo_name(model_name):
            _refuse_tokens(model_name, "explain")
        else:
            loaded = open_model(model_name, "--model")
            if reads_tokens(loaded):
                raise click.ClickException(
                    f"{model_name} reads integer token ids, so `convlens explain` cannot feed it random "
                    f"float inputs; `convlens summary {model_name}` shows its layers")
        rng = np.random.default_rng(seed)
        if input_file is not None:
            if input_shape is not None:
                raise click.UsageError("--input gives the input shape: leave out --input-shape")
            rank = _zoo_rank(model_name) if loaded is None else input_rank(loaded)
            x = _load_input(input_file, rank or 4)
            input_shape = tuple(x.shape[1:])
        else:
            input_shape = input_shape or (info_input_shape(loaded) if loaded is not None
                                          else _zoo_input_shape(model_name)) or (1, 28, 28)
        option = "--input-shape" if input_file is None else "--input"
        cl.manual_seed(seed)
        model = _build(model_name, input_shape, option) if loaded is None else loaded
        if loaded is not None:
            _check_rank(model_name, input_shape, option, rank=input_rank(loaded))
        _check_memory(model, input_shape, 1 if input_file is None else len(x), option=option)
        if input_file is None:
            x = rng.standard_normal((1, *input_shape))
        x = np.asarray(x, dtype=model.parameters()[0].dtype)
        try:
            classes = model(x).shape[1]
        except ValueError as err:
            raise click.ClickException(str(err)) from err
        if label is not None and label >= classes:
            raise click.BadParameter(f"the model has {classes} classes", param_hint="--label")
        y = np.full(x.shape[0], label if label is not None else rng.integers(classes))
    opt = cl.optim.get_optimizer(optimizer, model.parameters(), **options)
    result = run_explain(model, x, y, opt, lang=lang, max_values=max_values, print_text=False,
                         max_layers=max_layers)
    _write(result.render(fmt), out)


def _load_input(path: Path, rank: int) -> np.ndarray:
    """The array of ``explain --input`` for a model of inputs with ``rank`` axes (batch
    included): a ``.npy`` file of real numbers, one example or a batch; never unpickled."""
    import zipfile

    layout = {3: "(C,L) or (N,C,L)", 4: "(C,H,W) or (N,C,H,W)", 5: "(C,D,H,W) or (N,C,D,H,W)"}
    expected = (f"expected a .npy file holding one array of real numbers "
                f"{layout.get(rank, f'of {rank - 1} or {rank} axes')}")
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):
        raise click.BadParameter(f"{expected}; {path} is not a NumPy file (it does not start with "
                                 "the .npy signature)", param_hint="--input")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        reason = ("it holds Python objects (pickled data), which convlens never loads"
                  if "pickle" in str(err) else f"it is not a NumPy file ({err})")
        raise click.BadParameter(f"{expected}; {path}: {reason}", param_hint="--input") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        names = ", ".join(loaded.files) or "no arrays"
        loaded.close()
        raise click.BadParameter(f"{expected}; {path} is an .npz archive ({names}): save the one "
                                 "array with np.save", param_hint="--input")
    if loaded.dtype.kind not in "biuf":
        raise click.BadParameter(f"{expected}; {path} holds an array of dtype {loaded.dtype} "
                                 f"with shape {loaded.shape}", param_hint="--input")
    if loaded.size == 0 or loaded.ndim not in (rank - 1, rank):
        raise click.BadParameter(f"{expected}; {path} holds an array of shape {loaded.shape}",
                                 param_hint="--input")
    if not np.isfinite(loaded).all():
        raise click.BadParameter(f"{expected}; {path} holds NaN or infinite values",
                                 param_hint="--input")
    return loaded[None] if loaded.ndim == rank - 1 else loaded


def _leaf_inputs(model: Module, x: np.ndarray) -> list[tuple[str, Module, Any]]:
    """Each leaf layer call with the shape of the input it receives."""
    calls: list[tuple[str, Module, Any]] = []
    names: dict[int, str] = {}
    for name, m in model.named_modules():
        names.setdefault(id(m), name or type(m).__name__)
    leaves = {id(m): m for m in model.modules()
              if not any(True for _ in m.children()) and not isinstance(m, Sequential)}

    def hook(module: Module, inp: Any, _: np.ndarray) -> None:
        # a merge layer of a graph gets a tuple of inputs: a tuple of shapes
        shape = tuple(tuple(a.shape) for a in inp) if isinstance(inp, tuple) else tuple(inp.shape)
        calls.append((names[id(module)], module, shape))

    handles = [m.register_forward_hook(hook) for m in leaves.values()]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return calls


@click.command()
@no_traceback
@click.argument("model_name", metavar="MODEL")
@_INPUT_SHAPE
@click.option("--batch-size", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--max-checks", default=30, show_default=True, type=click.IntRange(min=1),
              help="Elements nudged per tensor.")
@click.option("--tol", default=1e-6, show_default=True, type=FiniteFloat(0),
              help="Largest acceptable relative error (exit status 1 above it).")
@click.option("--seed", default=0, show_default=True, type=SEED)
def gradcheck(model_name: str, input_shape: tuple[int, ...] | None, batch_size: int,
              max_checks: int, tol: float, seed: int) -> None:
    """Check every layer's backward pass of MODEL against finite differences.

    Each layer gets a random float64 input of the shape it sees in the model; the table gives
    the relative error of dL/dx and of each parameter gradient (around 1e-8 or less when
    backward is the derivative of forward).
    """
    import convlens as cl

    _refuse_tokens(model_name, "gradcheck")
    cl.manual_seed(seed)
    model, input_shape = _model_and_shape(model_name, input_shape)
    model.double()
    _check_memory(model, input_shape, batch_size, np.float64)
    for m in model.modules():
        if isinstance(m, Dropout):
            m.training = False  # random masks would differ between nudges
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, *input_shape))
    try:
        calls = _leaf_inputs(model, x)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    rows = []
    for name, layer, shape in calls:
        several = bool(shape) and isinstance(shape[0], tuple)   # a merge layer: one per input
        x_layer = (tuple(rng.standard_normal(s) for s in shape) if several
                   else rng.standard_normal(shape))
        report = cl.gradcheck(layer, x_layer, seed=seed, max_checks=max_checks)
        for tensor, error in report.errors.items():
            rows.append((name, type(layer).__name__, tensor, report.checked[tensor], error))
    width = max([len(r[0]) for r in rows] + [5])
    click.echo(f"{'layer':<{width}}  {'type':<12}  {'tensor':<7}  checked  relative error")
    for name, kind, tensor, checked, error in rows:
        flag = "" if error <= tol else "  FAILED"
        click.echo(f"{name:<{width}}  {kind:<12}  {tensor:<7}  {checked:>7}  {error:.3e}{flag}")
    worst = max((r[4] for r in rows), default=0.0)
    click.echo(f"largest relative error {worst:.3e} ({'ok' if worst <= tol else 'FAILED'}, "
               f"tolerance {tol:g})")
    if worst > tol:
        raise SystemExit(1)


@click.command()
@no_traceback
@click.argument("model_name", metavar="MODEL")
@_INPUT_SHAPE
@click.option("--batch-size", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--dtype", default="float32", show_default=True,
              type=click.Choice(["float32", "float64"]))
@click.option("--tol", default=None, type=FiniteFloat(0),
              help="Largest acceptable relative difference. [default: 1e-5 float32, "
                   "1e-10 float64]")
@click.option("--seed", default=0, show_default=True, type=SEED)
def parity(model_name: str, input_shape: tuple[int, ...] | None, batch_size: int, dtype: str,
           tol: float | None, seed: int) -> None:
    """Compare MODEL's forward pass and gradients with PyTorch (when installed).

    The same weights are loaded into a PyTorch twin built layer by layer; both run on the
    same random batch with the same upstream gradient.
    """
    import convlens as cl
    from convlens.inspect.parity import parity as run_parity

    _refuse_tokens(model_name, "parity")
    cl.manual_seed(seed)
    model, input_shape = _model_and_shape(model_name, input_shape)
    model.to(dtype)
    _check_memory(model, input_shape, batch_size, dtype)
    x = np.random.default_rng(seed).standard_normal((batch_size, *input_shape)).astype(dtype)
    try:
        report = run_parity(model, x, seed=seed)
    except ImportError as err:
        raise click.ClickException(str(err)) from err
    except (TypeError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(str(report))
    if not report.ok(tol):
        click.echo("FAILED: differences above the tolerance")
        raise SystemExit(1)
    click.echo("ok")


@click.command()
@no_traceback
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "markdown"]), help="Table format.")
def models(fmt: str) -> None:
    """The model zoo: each model's parameters (built with its defaults), what it is, its source
    and the test accuracy measured with it (RESULTS.md gives each run's command).

    \b
    Examples:
      convlens models
      convlens summary vgg_small          # then one model layer by layer
    """
    from convlens.models import available_models, model_info

    entries = [model_info(name) for name in available_models()]
    if fmt == "markdown":
        click.echo("| model | parameters | what | source | expected test accuracy |")
        click.echo("|---|---:|---|---|---|")
        for e in entries:
            click.echo(f"| `{e.name}` | {e.num_params():,} | {e.summary} | {e.source} | {e.expected} |")
        click.echo(f"\n{SEED_NOTES}")
        return
    for e in entries:
        click.echo(f"{e.name}  ({e.num_params():,} parameters)\n  {e.summary}\n"
                   f"  source: {e.source}\n  expected: {e.expected}\n")
    click.echo(SEED_NOTES)


SEED_NOTES = ("Seed notes 000-004: the five CNN study notes (Korean blog posts, study notes and "
              "lecture slides) that convlens was started from; README.md, 'The seed notes', lists "
              "them. Not random seeds: those are `convlens train --seed`.")

COMMANDS = [models, summary, explain, gradcheck, parity]
