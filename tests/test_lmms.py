"`timepref lmms-tasks` and the lmms-eval model: tasks for a world's suite, bad input, and lmms-eval's own command."
import json, os, subprocess, sys
from pathlib import Path
import pytest
from conftest import run_cli


@pytest.fixture(scope="module")
def setup(world_and_model): return world_and_model


def test_tasks_for_a_world_suite(setup):
    d = setup
    res = json.loads(run_cli("lmms-tasks", "--bench", "world", "--data", d / "world", "--out", d / "tasks").stdout)
    assert set(res["tasks"]) == {"timepref_timewar", "timepref_timewar_shuffled", "timepref_vinoground"}
    assert res["run"].endswith(f"--tasks timepref_suite --include_path {d / 'tasks'}")
    group = (d / "tasks" / "timepref_suite.yaml").read_text()
    assert all(f"  - {t}\n" in group for t in res["tasks"])
    for task, n in res["tasks"].items():
        docs = [json.loads(line) for line in open(d / "tasks" / f"{task}.jsonl")]
        assert len(docs) == n > 0 and all(Path(x["video"]).is_file() for x in docs)
    twins = [json.loads(line) for line in open(d / "tasks" / "timepref_timewar_shuffled.jsonl")]
    assert all(Path(x["video"]).parent.name == "shuffled_videos" for x in twins)


def test_open_ended_benchmark_gets_generation_tasks_only(setup, tmp_path):
    "MSR-VTT-QA has no options to score by log-likelihood: only its `_gen` task, cluster-keyed, and the command to run it."
    d = setup
    videos = sorted((d / "world" / "videos").glob("*.mp4"))[:2]
    for k, v in enumerate(videos): os.symlink(v, tmp_path / f"video{k}.mp4")
    (tmp_path / "test_qa.json").write_text(json.dumps(
        [{"answer": "circle", "category_id": 0, "id": k, "question": "what moves?", "video_id": k} for k in range(2)]))
    res = json.loads(run_cli("lmms-tasks", "--bench", "msrvtt_qa", "--data", tmp_path / "test_qa.json", "--videos",
                             tmp_path, "--out", tmp_path / "tasks").stdout)
    assert res["tasks"] == {} and res["group"] is None and res["generation_tasks"] == ["timepref_msrvtt_qa_gen"]
    assert "--tasks timepref_msrvtt_qa_gen " in res["run"]
    assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == ["timepref_msrvtt_qa.jsonl",
                                                                      "timepref_msrvtt_qa_gen.yaml"]
    assert "cluster_key: video\n" in (tmp_path / "tasks" / "timepref_msrvtt_qa_gen.yaml").read_text()


@pytest.mark.parametrize("args, says", [
    (["--bench", "world", "--data", "{d}/no-world"], "no-world"),
    (["--bench", "timewar", "--data", "{d}/tw.json", "--shuffled", "{d}/tw.json"], "--shuffled-videos"),
    (["--bench", "world", "--data", "{d}/world", "--limit", "0"], "--limit")])
def test_bad_input_is_one_line(setup, args, says):
    d = setup
    r = run_cli("lmms-tasks", *[a.format(d=d) for a in args], "--out", d / "bad", check=False)
    assert r.returncode != 0 and says in r.stderr and "Traceback" not in r.stderr


def test_lmms_eval_runs_the_suite_with_the_timepref_model(setup):
    "lmms-eval's own command, offline, finds the model by its entry point and scores every document."
    pytest.importorskip("lmms_eval")
    d = setup
    if not (d / "tasks" / "timepref_suite.yaml").exists():
        run_cli("lmms-tasks", "--bench", "world", "--data", d / "world", "--out", d / "tasks")
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    cmd = [str(Path(sys.executable).with_name("lmms-eval")), "--model", "timepref", "--model_args",
           f"pretrained={d / 'model'},n_frames=4", "--tasks", "timepref_timewar_gen,timepref_vinoground",
           "--include_path", str(d / "tasks"), "--output_path", str(d / "out"), "--log_samples"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    from timepref.lmms import lmms_predictions
    picks = lmms_predictions(d / "out", d / "tasks")
    n = {t: sum(1 for _ in open(d / "tasks" / f"{t.removesuffix('_gen')}.jsonl")) for t in picks}
    assert set(picks) == {"timepref_timewar_gen", "timepref_vinoground"} and all(len(picks[t]) == n[t] for t in picks)
    assert all(p in (None, 0, 1, 2, 3) for p in picks["timepref_timewar_gen"].values())
