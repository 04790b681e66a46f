"""`python -m benchmarks.conv_breakdown`: each piece is timed and named (timings never asserted)."""

import re

from benchmarks.conv_breakdown import main


def test_prints_the_passes_and_their_pieces(capsys, monkeypatch):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # main sets them: restored after the test
    main(["--shape", "2,3,6,6", "--out-channels", "4", "--repeats", "2"])
    out = capsys.readouterr().out
    assert out.startswith("Conv2d 3→4, kernel 3, padding 1, input (2, 3, 6, 6), output (2, 4, 6, 6); "
                          "im2col matrix (27, 72)")
    for label in ("forward pass", "of which the im2col copy", "of which the product w @ cols",
                  "backward pass", "of which padding the input again", "of which the im2col copy again (for dw)",
                  "of which the product dw = dy @ colsᵀ", "of which the product dcols = wᵀ @ dy",
                  "of which col2im"):
        assert re.search(rf"{re.escape(label)} +\d+\.\d\d ms", out), label


def test_the_engine_choice_is_restored_after_timing_im2col(capsys, monkeypatch):
    from convlens.functional import conv_shifted

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    before = conv_shifted.MIN_CHANNELS
    main(["--shape", "2,16,6,6", "--out-channels", "4", "--repeats", "1"])
    assert "im2col matrix (144, 72)" in capsys.readouterr().out  # im2col although 16 channels
    assert conv_shifted.MIN_CHANNELS == before
