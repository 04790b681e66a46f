"""plot_history: a real PNG, written atomically, without touching pyplot's state."""

import matplotlib
import matplotlib.image
import pytest
from matplotlib.figure import Figure

from convlens.training import History
from convlens.viz import plot_history


def _history(val=True, epochs=4):
    h = History(val_name="test")
    for i in range(epochs):
        if val:
            h.append(1 / (i + 1), 0.5 + i / 10, 1.0, 1.2 / (i + 1), 0.45 + i / 10, lr=0.1)
        else:
            h.append(1 / (i + 1), 0.5 + i / 10, 1.0)
    return h


@pytest.mark.parametrize("val", [True, False])
def test_writes_a_png(tmp_path, val):
    path = plot_history(_history(val), tmp_path / "sub" / "curves.png", title="lenet5 on mnist-5k")
    assert path == tmp_path / "sub" / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] == 400 and image.shape[1] == 1000  # 10x4 inches at 100 dpi
    assert image.std() > 0.05  # something was drawn
    assert [p.name for p in path.parent.iterdir()] == ["curves.png"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "curves.png"
    plot_history(_history(), path)
    before = path.read_bytes()

    def broken_savefig(self, handle, **kwargs):
        handle.write(b"half a picture")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_history(_history(epochs=2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_empty_history_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected a history with at least one epoch, received an empty one"):
        plot_history(History(), tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_leaves_the_pyplot_backend_alone(tmp_path):
    backend = matplotlib.get_backend()
    plot_history(_history(), tmp_path / "c.png")
    assert matplotlib.get_backend() == backend


def test_svg_path_gets_an_svg(tmp_path):
    from convlens.viz import history_figure

    history = _history()
    path = plot_history(history, tmp_path / "curves.svg", title="t")
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    fig = history_figure(history)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "accuracy (%)"
