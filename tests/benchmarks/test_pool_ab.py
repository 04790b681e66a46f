import pytest

from benchmarks.pool_ab import CONFIGS, main, measure


def test_every_configuration_is_timed_and_the_pool_is_left_as_found():
    import convlens.functional.parallel as parallel

    threads, minimum = parallel.num_threads(), parallel.MIN_ELEMENTS
    medians = measure("lenet5_infer_b1", rounds=1, seconds=0.0)
    assert list(medians) == [label for label, _, _ in CONFIGS]
    assert all(ms > 0 for ms in medians.values())
    assert (parallel.num_threads(), parallel.MIN_ELEMENTS) == (threads, minimum)


def test_an_unknown_workload_is_named_with_the_known_ones():
    with pytest.raises(SystemExit, match="unknown workload 'lenet6'; expected one of lenet5_train_b64"):
        main(["lenet6"])


def test_hand_offs_are_counted_and_timed(capsys):
    import convlens.functional.parallel as parallel
    from benchmarks.pool_ab import dispatches_per_step

    real_run = parallel.run
    # LeNet-5 at batch 64 has work above the pool's threshold in every layer's passes
    assert dispatches_per_step("lenet5_train_b64") > 10
    # and no hand-off at batch 1, where every array is below it
    assert dispatches_per_step("lenet5_infer_b1") == 0
    assert parallel.run is real_run and parallel.num_threads() == 1
    main(["--dispatch", "lenet5_infer_b1"])
    out = capsys.readouterr().out
    assert "one hand-off to the pool:" in out and "lenet5_infer_b1: 0 hand-offs per step" in out
