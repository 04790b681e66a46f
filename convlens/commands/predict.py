"""``convlens predict MODEL FILE_OR_FOLDER…``: the top classes of new inputs, with probabilities.

    convlens predict runs/my-run my_digit.png             # a run folder or a .convlens file
    convlens predict digits.convlens photos/ --top-k 3    # every file of a folder
    convlens predict digits.convlens *.png --json         # for machines: --json or --csv
    convlens predict words.convlens --text bonjour        # a text model: text on the line

Each input is converted the way the model's training data was, and the output says how. A file
that cannot be used (not an image, truncated, empty, too large) is reported on stderr and the
others go on; the exit code is 0 only if every input gave a prediction.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from convlens.inference.preprocess import MAX_PIXELS


def _open_model(path: Path) -> Any:
    from convlens.io.formats import FormatError, MissingExtraError, load
    from convlens.models import available_models

    try:
        return load(path)
    except FileNotFoundError:
        if str(path) in available_models():
            raise click.BadParameter(
                f"{path} is a zoo model, untrained: predict needs a trained model, a .convlens file "
                "or the run folder of `convlens train`", param_hint="MODEL") from None
        raise click.BadParameter(f"no such file or folder: {path}", param_hint="MODEL") from None
    except (FormatError, MissingExtraError) as error:
        raise click.ClickException(str(error)) from None


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("inputs", metavar="FILE_OR_FOLDER...", nargs=-1, type=click.Path(path_type=Path))
@click.option("--text", "texts", multiple=True, metavar="TEXT",
              help="A line of text for a text model (repeatable), instead of or beside files.")
@click.option("--top-k", default=3, show_default=True, type=click.IntRange(min=1),
              help="Classes shown per input.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per input).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: file, rank, class, index, probability.")
@click.option("--max-pixels", default=MAX_PIXELS, show_default=True, type=click.IntRange(min=1),
              help="Refuse pictures with more pixels, unread (decompression bombs).")
def predict(model_path: Path, inputs: tuple[Path, ...], texts: tuple[str, ...], top_k: int,
            as_json: bool, as_csv: bool, max_pixels: int) -> None:
    """Predict the classes of pictures, signals or text with a trained MODEL (a .convlens file
    or a run folder of `convlens train`).

    \b
    Inputs, converted as the model's training data was:
      image models   PNG, JPEG, GIF, BMP, TIFF, WebP of any size and mode
      1-D models     .npy signals, or CSV/text files with one signal per line
      text models    text files (one example per line) or --text

    \b
    Examples:
      convlens predict runs/my-run my_digit.png
      convlens predict digits.convlens photos/ --top-k 5 --csv
      convlens predict words.convlens --text bonjour --text hello
    """
    from convlens.inference.predict import input_files, model_kind, prepare_inputs, run
    from convlens.inference.preprocess import InputError

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if not inputs and not texts:
        raise click.UsageError("give at least one FILE_OR_FOLDER (or --text for a text model)")
    model = _open_model(model_path)
    if texts and model_kind(model) != "tokens":
        reads = model_kind(model) or "arrays"
        raise click.UsageError(f"--text is for text models; {model_path} reads {reads}")
    items: list[tuple[str, Any]] = []
    for path in inputs:
        if not path.exists():
            items.append((str(path), FileNotFoundError()))
            continue
        found = list(input_files([path]))
        if not found:
            items.append((str(path), InputError("is a folder without files")))
        items.extend((str(f), f) for f in found)
    items.extend((f"text {i + 1}", text) for i, text in enumerate(texts))

    results, failures = [], 0
    for name, item in items:
        try:
            if isinstance(item, Exception):
                raise item if isinstance(item, InputError) else InputError("does not exist")
            for source, x, steps in prepare_inputs(model, item, name, True, max_pixels):
                results.append(run(model, x, source, steps, top_k))
                if not (as_json or as_csv):
                    click.echo(_block(results[-1]))
        except InputError as error:
            failures += 1
            click.echo(f"error: {name} {error}", err=True)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    elif as_csv:
        click.echo(_csv(results), nl=False)
    if failures:
        click.echo(f"{failures} of {len(items)} input(s) failed", err=True)
        raise SystemExit(1)


def _block(prediction: Any) -> str:
    """One input: its name, what was done to it, then a small table of classes."""
    lines = [prediction.source, *(f"  - {step}" for step in prediction.steps)]
    if prediction.values is not None:
        lines.append("  output: " + ", ".join(f"{v:.4g}" for v in prediction.values.ravel()))
        return "\n".join(lines)
    width = max(5, *(len(name) for name, _ in prediction.top))
    lines.append(f"  {'class':<{width}}  probability")
    for name, probability in prediction.top:
        shown = f"{probability:.2%}" if probability < 0.99995 or probability == 1.0 else ">99.99%"
        lines.append(f"  {name:<{width}}  {shown:>11}")
    return "\n".join(lines)


def _csv(results: list[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "rank", "class", "index", "probability"])
    for r in results:
        if r.values is not None:
            for k, v in enumerate(r.values.ravel()):
                writer.writerow([r.source, k + 1, "", k, f"{v:.6g}"])
            continue
        for rank, ((name, probability), index) in enumerate(zip(r.top, r.indices), start=1):
            writer.writerow([r.source, rank, name, index, f"{probability:.6f}"])
    return buffer.getvalue()


COMMANDS = [predict]
