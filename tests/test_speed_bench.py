"""bench/speed.py end to end on a few images: the JSON README's speed table is built from."""

import json

import pytest


def test_small_run_records_best_of_repeats(speed, mnist_root, tmp_path):
    assert speed.main(["--kinds", "ae", "--images", "1000", "--repeats", "2", "--device", "cpu",
                       "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "speed-cpu.json").read_text())
    assert result["repeats"] == 2
    (row,) = result["results"]
    assert row["model"] == "ae" and len(row["engine_runs_s_per_epoch"]) == 2
    assert row["engine_s_per_epoch"] == pytest.approx(min(row["engine_runs_s_per_epoch"]), abs=0.01)
    assert row["textbook_s_per_epoch"] == pytest.approx(min(row["textbook_runs_s_per_epoch"]), abs=0.01)
    assert row["speedup_at_bound"] == pytest.approx(
        row["textbook_s_per_epoch"] / row["bound_s_per_epoch"])
    assert 0 < row["fraction_of_bound"] <= 1.5  # the bound is a model, not a law; but not wild


def test_stacked_discriminator_is_in_the_bound(speed):
    shapes = speed.step_matmuls("aae")
    assert (200, 8, 1000) in shapes  # prior samples and codes judged in one pass of 2 x batch
    assert len(speed.step_matmuls("aae")) > len(speed.step_matmuls("ae"))


@pytest.mark.parametrize("args, message", [(["--repeats", "0"], "--repeats must be at least 1"),
                                           (["--images", "150"], "--images must be a multiple")])
def test_bad_arguments_are_named(speed, args, message, capsys):
    with pytest.raises(SystemExit):
        speed.main(args)
    assert message in capsys.readouterr().err
