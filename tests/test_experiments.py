"The end-to-end experiment: `timepref e2e` at toy scale, then its papermill notebook on the same store."
import json, subprocess, sys
from pathlib import Path
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
ARMS = ["timewarp-explicit", "timewarp-kto"]
SMALL = {"n_videos": 40, "base_steps": 20, "pretrain_steps": 10, "seeds": [0], "limit": 8, "batch_size": 8}
SUITE = {"n_videos": 16, "probe_videos": 4}                       # a toy held-out suite (the default has 780 videos)
SUITE_ARGS = ["--suite-n-videos", SUITE["n_videos"], "--suite-probe-videos", SUITE["probe_videos"]]


def cli_args(d: dict) -> list:
    return [x for k, v in d.items() for x in (f"--{k.replace('_', '-')}", *(v if isinstance(v, list) else [v]))]


def test_e2e_command_then_papermill_notebook(tmp_path):
    out = tmp_path / "e2e"
    res = json.loads(run_cli("e2e", "--out", out, "--arms", *ARMS, *cli_args(SMALL), *SUITE_ARGS).stdout)
    assert set(res["after"]) == {"timewarp-explicit-0", "timewarp-kto-0"}
    rec = json.loads((out / "results.json").read_text())
    files = rec["data"]["0"]["files"]
    kto = next(a for a in rec["arms"] if a["arm"] == "timewarp-kto")
    assert kto["rows"] == files["kto"] == files["explicit"] > 0          # as many KTO rows as explicit pairs, as the paper draws
    assert rec["base_model"]["config"]["steps"] == 20 and set(rec["before"]["scores"]) == set(kto["scores"])
    assert {(a["launcher"], a["num_processes"]) for a in rec["arms"]} == {("accelerate", 1)}   # launched, as a user would
    assert [line.split(" |")[0] for line in (out / "table.md").read_text().splitlines()[2:6]] == ["| chance", "| base model", "| timewarp-explicit", "| timewarp-kto"]
    assert (out / "e2e.png").stat().st_size > 1000

    # the experiment notebook, into another folder on the same store: it reports the run and trains nothing again
    done = {p: p.stat().st_mtime for p in (out / "store").glob("arm-*/train.json")}
    assert len(done) == 2 and {json.loads((p.parent / "key.json").read_text())["kind"] for p in done} == {"arm"}
    params = json.dumps({"config": SMALL | {"arms": ARMS, "suite": SUITE}, "store": str(out / "store")})
    nb = tmp_path / "nb"
    subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "experiments/e2e.ipynb"), str(tmp_path / "e2e.ipynb"),
                    "-p", "out", str(nb), "-y", params], check=True, capture_output=True, timeout=600)
    assert {p: p.stat().st_mtime for p in (out / "store").glob("arm-*/train.json")} == done
    assert not (nb / "store").exists() and json.loads((nb / "results.json").read_text())["store"]["root"] == str(out / "store")
    cells = json.loads((tmp_path / "e2e.ipynb").read_text())["cells"]
    assert not [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert "timewarp-kto" in json.dumps([c.get("outputs") for c in cells])


def test_e2e_unknown_arm(tmp_path):
    r = run_cli("e2e", "--out", tmp_path / "x", "--arms", "ppo", check=False)
    assert r.returncode == 2 and "invalid choice: 'ppo'" in r.stderr


def test_e2e_benchmark_files_are_checked_before_anything_runs(tmp_path):
    r = run_cli("e2e", "--out", tmp_path / "x", "--bench-vinoground", tmp_path / "none", "--bench-probe-videos", 3, check=False)
    assert r.returncode != 0 and r.stderr.strip().endswith(f"vinoground: no such file or folder: {tmp_path / 'none'}")
    assert r.stderr.count("\n") == 1 and not (tmp_path / "x").exists()


def test_e2e_unknown_model_size_or_architecture_fails_before_anything_runs(tmp_path):
    for flag, value, says in (("--size", "huge", "size: no preset 'huge'; presets: tiny, mini, small"),
                              ("--arch", "internvl",
                               "arch: unknown 'internvl'; the tiny ones: qwen2vl, llava_onevision, qwen2_5vl, qwen3vl, llava_next_video")):
        r = run_cli("e2e", "--out", tmp_path / "x", flag, value, check=False)
        assert r.returncode != 0 and r.stderr.strip().endswith(says), r.stderr
        assert r.stderr.count("\n") == 1 and not (tmp_path / "x").exists()

def test_base_key_stays_as_before_without_text_pretraining():
    from pathlib import Path
    from timepref.experiments import E2EConfig, base_key
    plain = base_key(E2EConfig(pretrain_steps=0), Path("world-abc"))
    assert plain == {"world": "world-abc", "suite_forms": True, "config": {
        "size": "mini", "n_frames": 8, "steps": 1500, "batch_size": 16, "lr": 1e-3, "warmup_steps": 50, "n_order": 12,
        "n_neighbour": 1, "n_statements": 4, "clip_captions": True, "seed": 0, "log_every": 50}}   # older stores' key
    pre = base_key(E2EConfig(pretrain_steps=1500), Path("world-abc"))["config"]
    assert (pre["copy_steps"], pre["list_steps"]) == (1500, 1500) and pre != plain["config"]
