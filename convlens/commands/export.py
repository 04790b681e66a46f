"""``convlens export MODEL_OR_RUN --format onnx``: a model leaves convlens.

    convlens export lenet5 --format onnx                      a zoo model (random weights)
    convlens export runs/2025…-lenet5-mnist-5k --format onnx  a trained run folder
    convlens export model.onnx --format onnx --out copy.onnx  any file convlens reads

MODEL_OR_RUN is a file or folder that ``convlens.io.formats.load`` reads, or the name of a
zoo model. The ONNX file has a dynamic batch axis; layers ONNX cannot express are named in one
error. The lead registers ``COMMANDS`` on the ``convlens`` group in ``convlens/cli.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from convlens.commands.guard import check_output_file
from convlens.commands.inspect import TEXT_INPUT_SHAPE, _build, _parse_shape


def _writer_names() -> list[str]:
    from convlens.io.formats import WRITERS

    return sorted({w.name for w in WRITERS})


def _load(source: str, input_shape: tuple[int, ...] | None) -> tuple[Any, str, tuple[int, ...] | None]:
    """The model, a name for the output file, and the input shape to export with."""
    from convlens.io import formats
    from convlens.models import available_models, takes_tokens

    path = Path(source)
    if path.exists():
        try:
            model = formats.load(path)
        except (formats.FormatError, formats.MissingExtraError, OSError, ValueError) as error:
            raise click.ClickException(str(error)) from None
        return model, path.stem if path.is_file() else path.name, input_shape
    if source in available_models():
        if input_shape is None:
            input_shape = TEXT_INPUT_SHAPE if takes_tokens(source) else (1, 28, 28)
        return _build(source, input_shape), source, input_shape
    raise click.BadParameter(
        f"expected a model file, a run folder or a zoo model ({', '.join(available_models())}), "
        f"received {source!r}, which is none of these", param_hint="MODEL_OR_RUN")


@click.command()
@click.argument("source", metavar="MODEL_OR_RUN")
@click.option("--format", "fmt", type=click.Choice(_writer_names()), default="onnx", show_default=True,
              help="The format to write.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write (atomically).  [default: NAME.FORMAT in this folder, e.g. lenet5.onnx]")
@click.option("--input-shape", default=None, callback=_parse_shape,
              help="Size of one example, C,H,W (no batch axis), when the model does not record it. "
              "[default for a zoo model: 1,28,28; 24 for a text model]")
@click.option("--opset", default=None, type=int, help="ONNX opset to write.  [default: 17]")
def export(source: str, fmt: str, out: Path | None, input_shape: tuple[int, ...] | None,
           opset: int | None) -> None:
    """Write MODEL_OR_RUN (a model file, a run folder or a zoo model) in another format.

    \b
    Examples:
      convlens export lenet5 --format onnx
      convlens export runs/my-run --format onnx --input-shape 1,28,28 --out lenet.onnx
      convlens export lenet5.onnx --format convlens    # an ONNX file as a .convlens model file
    """
    from convlens.io import formats

    given_shape = input_shape is not None
    check_output_file(out)  # /proc, a path inside a file, a folder: refused before any work
    try:
        model, name, input_shape = _load(source, input_shape)
    except MemoryError:
        raise click.ClickException(f"building {source} for input size {input_shape} needs more memory than "
                                   "this machine has; give a smaller --input-shape") from None
    target = out or Path(f"{name}.{fmt}")
    options: dict[str, Any] = {}
    if fmt == "onnx":
        if input_shape is not None:
            options["input_shape"] = input_shape
        if opset is not None:
            options["opset"] = opset
    try:
        formats.export(model, target, format=fmt, **options)
    except (formats.FormatError, formats.MissingExtraError, ValueError) as error:  # OnnxExportError too
        hint = "" if given_shape else " (give the size of one example with --input-shape, e.g. 1,28,28)"
        raise click.ClickException(f"{error}{hint}") from None
    except MemoryError:
        raise click.ClickException(f"exporting {name} with input size {input_shape} needs more memory than "
                                   "this machine has; give a smaller --input-shape") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror or error}") from None
    click.echo(f"wrote {target}")


COMMANDS = [export]
