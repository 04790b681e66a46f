"""``convlens serve [MODEL_OR_RUN …]``: the explorer, a local web page on your own models.

    convlens serve                          # LeNet-5 of the zoo
    convlens serve runs/my-run lenet5       # a trained run and a zoo model, with a picker
    convlens serve model.convlens --port 8000

Serves 127.0.0.1 unless ``--host`` says otherwise (and warns when it is reachable from other
machines: anyone who can reach it can run the served models). Only the models named here are
served; requests name them, never a path. Needs ``pip install "convlens[serve]"``.
"""

from __future__ import annotations

import click

from convlens.commands.guard import FiniteFloat

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.argument("models", nargs=-1)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but 127.0.0.1 exposes the models to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--max-upload-mb", type=FiniteFloat(0.01), default=6.0, show_default=True,
              help="Largest request body accepted, in MB.")
def serve(models: tuple[str, ...], host: str, port: int, max_upload_mb: float) -> None:
    """Open the explorer on MODELS (zoo names, run folders of `convlens train`, model files;
    default lenet5): draw or upload an input and see each layer's numbers in the browser.

    \b
    Examples:
      convlens serve runs/my-run                   # the model a run trained, at http://127.0.0.1:8000/
      convlens serve lenet5 resnet_small cnn1d     # several, with a picker
    """
    try:
        import uvicorn

        from convlens.explorer.app import create_app
    except ImportError as err:
        raise click.ClickException(
            f'the explorer needs the web stack ({err.name} is missing): pip install "convlens[serve]"'
        ) from None
    from convlens.explorer.models import ModelOpenError, open_models

    try:
        served = open_models(list(models) or ["lenet5"])
    except ModelOpenError as err:
        raise click.ClickException(str(err)) from None
    port = _check_address(host, port)
    app = create_app(served, max_body_bytes=int(max_upload_mb * 1024 * 1024))
    if host not in LOCAL_HOSTS:
        click.echo(f"warning: listening on {host}, not 127.0.0.1: anyone who can reach this "
                   "machine can use the served models (there is no login)", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"convlens explorer: {', '.join(served)} at http://{shown}:{port}/  (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _check_address(host: str, port: int) -> int:
    """The port to listen on, after trying to bind ``host:port`` (0: a free port, chosen now so
    that the address printed is the real one); an address that cannot be used is one message."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
            return int(probe.getsockname()[1])
    except OSError as err:  # socket.gaierror too: an unknown host name
        reason = err.strerror or str(err)
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {reason} (expected a local address such as 127.0.0.1 "
            "and a free port; --port 0 picks one)"
        ) from None


COMMANDS = [serve]
