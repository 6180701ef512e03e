"`timepref reproduce`: a profile's experiment notebooks executed by papermill, indexed; a failure is recorded and fails the run."
import json, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from timepref.cli import run; sys.exit(run())"]


def reproduce(*args, cwd=ROOT):
    return subprocess.run([*CLI, "reproduce", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900)


def test_quick_table1_runs_and_is_indexed_then_skipped(tmp_path):
    r = reproduce("--profile", "quick", "--only", "timewarp-table1", "--out", tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rec, = json.loads((tmp_path / "index.json").read_text())
    assert rec["status"] == "ok" and rec["headline"]["videos"] == rec["headline"]["shuffled videos"] + rec["headline"]["reversed videos"]
    table = (tmp_path / "timewarp-table1" / "table.md").read_text()
    assert "| TimeWarp (paper) | 10,000 | 3 | 21 | 30,000 | 2,617 | 2,394 |" in table and table in (tmp_path / "index.md").read_text()
    assert (tmp_path / "timewarp-table1" / rec["paths"]["html"]).stat().st_size > 10_000
    gallery = (tmp_path / "index.html").read_text()                  # the page a person opens: the table, the notebook
    assert "<table>" in gallery and f'href="timewarp-table1/{rec["paths"]["html"]}"' in gallery
    again = reproduce("--profile", "quick", "--only", "timewarp-table1", "--out", tmp_path,   # same key: not executed again
                      "--publish", tmp_path / "shared")                                      # its results, to share
    assert again.returncode == 0 and json.loads(again.stdout)["experiments"]["timewarp-table1"]["seconds"] == rec["seconds"]
    assert (tmp_path / "shared" / "timewarp-table1" / "table.md").read_text() == table
    assert "(timewarp-table1/table1_data.ipynb)" in (tmp_path / "shared" / "index.md").read_text()
    assert not list((tmp_path / "shared").rglob("*.html")) and not (tmp_path / "shared" / "store").exists()


def test_a_failed_experiment_is_recorded_and_fails_the_run(tmp_path):
    shutil.copy(ROOT / "experiments/timewarp/table1_data.ipynb", tmp_path / "t1.ipynb")
    (tmp_path / "grid.yaml").write_text("profiles:\n  quick:\n    - {name: bad, notebook: t1.ipynb, parameters: {annotations: missing.jsonl}}\n"
                                        "    - {name: good, notebook: t1.ipynb, parameters: {n_videos: 6}}\n")
    r = reproduce("--profile", "quick", "--grid", tmp_path / "grid.yaml", "--out", tmp_path / "runs")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "1 of 2 experiments failed (bad: " in r.stderr
    recs = {x["name"]: x for x in json.loads((tmp_path / "runs" / "index.json").read_text())}
    assert recs["bad"]["status"] == "failed" and recs["good"]["status"] == "ok"        # the others went on
    assert "**failed**" in (tmp_path / "runs" / "index.md").read_text()


def test_every_profile_names_real_notebooks_parameters_and_settings():
    "What no CI can run (the gpu profile) is still checked: notebooks, parameter names, config fields, recipe overrides."
    import dataclasses, papermill, yaml
    from timepref.benchmarks import LOADERS
    from timepref.experiments import ARMS, E2EConfig
    from timepref.reproduce import load_grid
    from timepref.suite import SuiteConfig, SuiteFiles
    from timepref.train import load_recipe
    names = lambda cls: {f.name for f in dataclasses.fields(cls)}
    profiles = yaml.safe_load((ROOT / "experiments/grid.yaml").read_text())["profiles"]
    assert set(profiles) == {"quick", "cpu", "gpu"}
    for profile in profiles:
        for e in load_grid(ROOT / "experiments/grid.yaml", profile):
            where = f"{profile}/{e.name}"
            declared = set(papermill.inspect_notebook(str(ROOT / "experiments" / e.notebook)))
            assert set(e.parameters) <= declared - {"out", "store"}, (where, set(e.parameters) - declared)
            for b in e.parameters.get("benchmarks", {}).values(): assert b["bench"] in LOADERS, where
            cfg = e.parameters.get("config")
            if cfg is None: continue
            assert set(cfg) <= names(E2EConfig), (where, set(cfg) - names(E2EConfig))
            assert set(cfg.get("suite", {})) <= names(SuiteConfig), where
            assert set(cfg.get("benchmarks") or {}) <= names(SuiteFiles), (where, set(cfg["benchmarks"]) - names(SuiteFiles))
            if profile != "gpu": E2EConfig(**cfg)                 # the gpu paths are the user's: not on this machine
            assert set(cfg.get("recipes") or {}) <= set(ARMS), where
            for name, arm in ARMS.items():                       # every arm's recipe takes the overrides
                recipe = (cfg.get("recipes") or {}).get(name, arm.recipe)
                load_recipe(recipe, ["vars.base=m", "model=m", *(f"vars.{k}=d.jsonl" for k in arm.vars), "output_dir=o",
                                         f"n_frames={cfg.get('n_frames', 8)}", *arm.overrides, *cfg.get("overrides", ())])


TRAIN_NB = '''import hashlib, json, pathlib, torch
from timepref.world import WorldConfig, make_world
from timepref.base import BaseConfig, train_base_model
make_world(pathlib.Path(out, "world"), WorldConfig(n_videos=6, seed=seed), progress=False)
train_base_model(pathlib.Path(out, "world"), pathlib.Path(out, "model"),
                 BaseConfig(size="tiny", n_frames=4, steps=4, batch_size=4, seed=seed), progress=False)
sha = hashlib.sha256(pathlib.Path(out, "model", "model.safetensors").read_bytes()).hexdigest()
pathlib.Path(out, "headline.json").write_text(json.dumps({"weights": sha, "threads": torch.get_num_threads()}))'''


def test_trained_bytes_do_not_depend_on_the_number_of_jobs(tmp_path):
    "Two experiments that train a model, run one at a time and two at once: the same weights, byte for byte."
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('out = "x"\nseed = 0', metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell(TRAIN_NB)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "train.ipynb")
    (tmp_path / "grid.yaml").write_text("profiles:\n  quick:\n" + "".join(
        f"    - {{name: s{s}, notebook: train.ipynb, parameters: {{seed: {s}}}}}\n" for s in (0, 1)))
    heads = {}
    for jobs in (1, 2):
        r = reproduce("--profile", "quick", "--grid", tmp_path / "grid.yaml", "--out", tmp_path / f"j{jobs}", "--jobs", jobs)
        assert r.returncode == 0, r.stderr[-2000:]
        heads[jobs] = {x["name"]: x["headline"] for x in json.loads((tmp_path / f"j{jobs}" / "index.json").read_text())}
    assert heads[1] == heads[2] and heads[1]["s0"]["weights"] != heads[1]["s1"]["weights"], heads
