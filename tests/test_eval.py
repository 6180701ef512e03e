"`timepref eval` from the command line: a benchmark file with both scorers, TimeWar's drop, and a world's held-out suite."
import json
import pytest
from conftest import run_cli
from timepref.models import build_tiny_qwen2vl
from timepref.world import WorldConfig, make_world


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    make_world(d / "world", WorldConfig(n_videos=12, seed=5, test_fraction=0.5), workers=2, progress=False)
    model, proc = build_tiny_qwen2vl(size="tiny", seed=0)
    model.save_pretrained(d / "model"); proc.save_pretrained(d / "model")
    return d


def test_eval_world_suite(setup):
    d = setup
    res = json.loads(run_cli("eval", "--model", d / "model", "--bench", "world", "--data", d / "world", "--n-frames", 4, "--out", d / "r.json").stdout)
    assert set(res) == {"timewar", "vinoground"} and set(res["timewar"]) == {"normal", "shuffled"}
    full = json.loads((d / "r.json").read_text())
    assert full["vinoground"]["parts"]["normal"]["vinoground"]["pairs"] > 0 and full["timewar"]["scorer"] == "loglik"
    assert (d / "r_suite" / "suite" / "vinoground" / "vinoground.csv").exists()


def test_eval_benchmark_file_both_scorers(setup):
    d = setup
    tw = d / "r_suite" / "suite" / "timewar"
    if not tw.exists(): run_cli("eval", "--model", d / "model", "--bench", "world", "--data", d / "world", "--n-frames", 4, "--out", d / "r.json")
    args = ["eval", "--model", d / "model", "--bench", "timewar", "--data", tw / "tw.timewar_normal_benchmark.json", "--videos", d / "world" / "videos",
            "--n-frames", 4, "--limit", 4]
    twins = ["--shuffled", tw / "tw.timewar_shuffled_benchmark.json"]
    no_folder = run_cli(*args, *twins, "--out", d / "x.json", check=False)
    assert no_folder.returncode == 1 and "--shuffled-videos" in no_folder.stderr          # never the originals by default
    ll = json.loads(run_cli(*args, *twins, "--shuffled-videos", tw / "shuffled_videos", "--out", d / "ll.json").stdout)
    assert ll["normal"]["scored"] == ll["shuffled"]["scored"] == 4
    full = json.loads((d / "ll.json").read_text())["parts"]
    assert all(r["video"].startswith(str(tw / "shuffled_videos")) for r in full["shuffled"]["rows"])
    assert all(r["video"].startswith(str(d / "world" / "videos")) for r in full["normal"]["rows"])
    gen = json.loads(run_cli(*args, "--scorer", "generate", "--out", d / "gen.json").stdout)
    rows = json.loads((d / "gen.json").read_text())["parts"]["normal"]["rows"]
    assert gen["scorer"] == "generate" and all("reply" in r for r in rows)
    bad = run_cli("eval", "--model", d / "model", "--bench", "nextqa", "--data", d / "none.csv", "--out", d / "x.json", check=False)
    assert bad.returncode == 1 and "none.csv" in bad.stderr


def test_eval_probe(setup):
    d = setup
    res = json.loads(run_cli("eval", "--model", d / "model", "--bench", "probe", "--data", d / "world", "--n-frames", 4, "--out", d / "p.json").stdout)
    assert res["statements"] > 0 and res["statements"] % 4 == 0 and 0 <= res["yes_rate"] <= 1
    assert json.loads((d / "p.json").read_text())["criteria"] == {"subcategory": "3/4", "category": "5/8"}
