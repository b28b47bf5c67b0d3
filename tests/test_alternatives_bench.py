"""bench/alternatives.py (what the engine does not use, measured) and bench/README.md's generated blocks."""

import json

import pytest

from aae_utils.config import REPO_ROOT


def test_small_run_records_each_section_and_keeps_the_others(alternatives, mnist_root, tmp_path):
    args = ["--images", "200", "--repeats", "1", "--out", str(tmp_path)]
    assert alternatives.main(["--only", "threads", *args]) == 0
    assert alternatives.main(["--only", "bfloat16", *args]) == 0
    result = json.loads((tmp_path / "alternatives-cpu.json").read_text())
    assert {"threads", "bfloat16"} <= set(result)  # the second run kept the first's section
    for kind, runs in result["threads"]["models"].items():
        by_run = {r["run"]: r for r in runs}
        assert by_run["one thread"]["max_weight_difference"] == 0.0
        # A CPU run from one seed on the same thread count is deterministic: bit-identical.
        assert by_run["one thread again"]["max_weight_difference"] == 0.0, kind
        assert by_run["one thread again"]["recon"] == by_run["one thread"]["recon"], kind
    b = result["bfloat16"]
    assert b["matmul_speedup"] == pytest.approx(b["matmul_float32_s"] / b["matmul_bfloat16_s"], abs=0.01)
    assert b["recon_float32"] > 0 and b["recon_autocast"] > 0


@pytest.mark.parametrize("args, message", [(["--repeats", "0"], "--repeats must be at least 1"),
                                           (["--images", "150"], "--images must be a positive multiple")])
def test_bad_arguments_are_named(alternatives, args, message, capsys):
    with pytest.raises(SystemExit):
        alternatives.main(args)
    assert message in capsys.readouterr().err


def test_readme_blocks_are_what_report_renders_now(report):
    """A changed JSON in bench/results/ without `python bench/report.py` leaves bench/README.md stale."""
    readme = (REPO_ROOT / "bench" / "README.md").read_text()
    for (start, end), lines in report.generated_blocks(REPO_ROOT / "bench" / "results").items():
        assert start in readme and end in readme, f"bench/README.md lost its {start} ... {end} block"
        stored = readme.split(start, 1)[1].split(end, 1)[0]
        assert stored == "\n" + "\n".join(lines), (
            f"bench/README.md's {start} block differs from bench/report.py's rendering: "
            "run python bench/report.py")
