"`timepref eval` from the command line: a benchmark file with both scorers, TimeWar's drop, and a world's held-out suite."
import json
import pytest
from conftest import run_cli


@pytest.fixture(scope="module")
def setup(world_and_model): return world_and_model


def test_eval_world_suite(setup):
    d = setup
    done = run_cli("eval", "--model", d / "model", "--bench", "world", "--data", d / "world", "--n-frames", 4, "--out", d / "r.json")
    res = json.loads(done.stdout)
    assert "Loading weights" not in done.stderr, done.stderr[-300:]          # transformers' bar stays out of the command
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
    assert gen["scorer"] == "generate" and all("reply" in r and r["parser"] == "timepref" for r in rows)  # TimeWar's own
    assert json.loads((d / "gen.json").read_text())["parser"] == "the benchmark's"
    named = run_cli(*args, "--scorer", "generate", "--parser", "videomme", "--out", d / "gen2.json")
    assert {r["parser"] for r in json.loads((d / "gen2.json").read_text())["parts"]["normal"]["rows"]} == {"videomme"}
    unknown = run_cli(*args, "--scorer", "generate", "--parser", "gpt", "--out", d / "gen3.json", check=False)
    assert unknown.returncode != 0 and "--parser" in unknown.stderr
    bad = run_cli("eval", "--model", d / "model", "--bench", "nextqa", "--data", d / "none.csv", "--out", d / "x.json", check=False)
    assert bad.returncode == 1 and "none.csv" in bad.stderr


def test_eval_probe(setup):
    d = setup
    res = json.loads(run_cli("eval", "--model", d / "model", "--bench", "probe", "--data", d / "world", "--n-frames", 4, "--out", d / "p.json").stdout)
    assert res["statements"] > 0 and res["statements"] % 4 == 0 and 0 <= res["yes_rate"] <= 1
    assert json.loads((d / "p.json").read_text())["criteria"] == {"subcategory": "3/4", "category": "5/8"}


@pytest.mark.parametrize("name, content, error", [
    ("rows.json", '[{"video": "v", "question": "q"}, 7]', "rows.json: row 2: expected a JSON object, got int 7"),
    ("rows.json", '["a string"]', "rows.json: row 1: expected a JSON object, got str 'a string'"),
    ("rows.json", '"just a string"', "rows.json: expected a list of rows or an object, got str"),
    ("rows.jsonl", '{"video": "v"}\n\n[1, 2]\n', "rows.jsonl:3: expected a JSON object, got list [1, 2]"),
    ("rows.jsonl", '{"video": "v"}\n{"video": \n', "rows.jsonl:2: invalid JSON"),
    ("rows.json", '[{"video": "v"},\n {"video": ]', "rows.json:2: invalid JSON"),
    ("rows.csv", "video,question\nv,Caf\xe9?\n".encode("latin-1"), "rows.csv:2: not UTF-8 text (byte 6)"),
    ("rows.jsonl", '{"q": "ok"}\n{"q": "caf\xe9"}\n'.encode("latin-1"), "rows.jsonl:2: not UTF-8 text (byte 11)")])
def test_bad_benchmark_file_names_file_and_row(tmp_path, name, content, error):
    "A row that is not an object, or text that is not JSON or not UTF-8: `RecordError` naming the file and the row."
    from timepref.benchmarks import read_table
    from timepref.records import RecordError
    f = tmp_path / name
    f.write_bytes(content) if isinstance(content, bytes) else f.write_text(content)
    with pytest.raises(RecordError) as e: read_table(f)
    assert str(e.value).startswith(f"{tmp_path}/{error}")


def test_eval_row_not_an_object_is_one_line(tmp_path):
    "From the command line: exit 1 and one line, no traceback (the data is read before the model is loaded)."
    f = tmp_path / "rows.json"
    f.write_text('[{"video": "v", "question": "q", "answer": 0, "a0": "x"}, "oops"]')
    res = run_cli("eval", "--model", tmp_path / "no-model", "--bench", "nextqa", "--data", f, "--out",
                  tmp_path / "r.json", check=False)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [f"timepref: error: {f}: row 2: expected a JSON object, got str 'oops'"]


def test_eval_longvideobench_msrvtt_videomme_subtitles(setup, tmp_path):
    """The loaders added for TPO's tables and TimeWarp's Fig. 4, from files in their released formats, on the world's
    videos: LongVideoBench and Video-MME (with its subtitles) by duration; MSR-VTT-QA open-ended, by generation only."""
    import os
    import pandas as pd
    d = setup
    videos = sorted((d / "world" / "videos").glob("*.mp4"))[:4]
    lvb = [{"video_id": v.stem, "question": "What happens first?", "candidates": ["a", "b", "c"],
            "correct_choice": k % 3, "question_category": "E2O", "id": f"{v.stem}_0", "video_path": v.name,
            "duration_group": g, "level": "L1-Perception", "topic_category": "NP"}
           for k, (v, g) in enumerate(zip(videos, [600, 15, 15, 60]))]
    (tmp_path / "lvb_val.json").write_text(json.dumps(lvb))
    res = json.loads(run_cli("eval", "--model", d / "model", "--bench", "longvideobench", "--data", tmp_path / "lvb_val.json",
                             "--videos", d / "world" / "videos", "--n-frames", 4, "--out", tmp_path / "lvb.json").stdout)
    assert res["normal"]["scored"] == 4
    part = json.loads((tmp_path / "lvb.json").read_text())["parts"]["normal"]
    assert {k: v["n"] for k, v in part["by_duration"].items()} == {"15": 2, "60": 1, "600": 1}

    args = _msrvtt(d, tmp_path)
    loglik = run_cli(*args, check=False)
    assert loglik.returncode == 1 and loglik.stderr.strip().splitlines()[-1].endswith("(--scorer generate)")
    run_cli(*args, "--scorer", "generate")
    rows = json.loads((tmp_path / "msr.json").read_text())["parts"]["normal"]["rows"]
    assert [(r["parser"], r["chance"], r["category"]) for r in rows] == [
        ("exact_match", 0.0, c) for c in ("what", "who", "how", "when")]

    root = tmp_path / "Video-MME"; root.mkdir(); (root / "subtitle").mkdir()
    os.symlink(d / "world" / "videos", root / "data")
    (root / "subtitle" / f"{videos[0].stem}.srt").write_text(
        '1\n00:00:00,000 --> 00:00:30,000\n<font color="white" size=".72c">hello there</font>\n')
    pd.DataFrame([{"videoID": v.stem, "question_id": f"q{k}", "duration": dur, "domain": "Knowledge",
                   "sub_category": "Humanity", "task_type": "Temporal Reasoning", "question": "What happens first?",
                   "options": ["A. a", "B. b", "C. c", "D. d"], "answer": "A"}
                  for k, (v, dur) in enumerate(zip(videos, ["long", "short", "medium", "short"]))]
                 ).to_parquet(tmp_path / "vmme.parquet")
    vm = ["eval", "--model", d / "model", "--data", tmp_path / "vmme.parquet", "--videos", root / "data", "--n-frames", 4]
    run_cli(*vm, "--bench", "videomme-subtitles", "--out", tmp_path / "vmme.json")
    part = json.loads((tmp_path / "vmme.json").read_text())["parts"]["normal"]
    assert list(part["by_duration"]) == ["short", "medium", "long"] and part["by_duration"]["short"]["n"] == 2
    assert set(part["temporal"]) == {"Temporal Perception", "Temporal Reasoning"}
    no_subs = run_cli(*vm, "--bench", "videomme-subtitles", "--videos", d / "world" / "videos",
                      "--out", tmp_path / "x.json", check=False)
    assert no_subs.returncode == 1 and "no subtitle/ folder" in no_subs.stderr.strip().splitlines()[-1]


def _msrvtt(d, tmp_path) -> list:
    "MSR-VTT-QA's test_qa.json on four world videos (named video7010.mp4, ...): the `timepref eval` arguments for it."
    import os
    (tmp_path / "msr").mkdir()
    for k, v in enumerate(sorted((d / "world" / "videos").glob("*.mp4"))[:4]):
        os.symlink(v, tmp_path / "msr" / f"video{7010 + k}.mp4")
    (tmp_path / "test_qa.json").write_text(json.dumps(
        [{"answer": "circle", "category_id": k % 5, "id": k, "question": "what moves?", "video_id": 7010 + k}
         for k in range(4)]))
    return ["eval", "--model", d / "model", "--bench", "msrvtt_qa", "--data", tmp_path / "test_qa.json", "--videos",
            tmp_path / "msr", "--n-frames", 4, "--out", tmp_path / "msr.json"]


def test_eval_open_ended_with_a_judge(setup, tmp_path, monkeypatch):
    """`--judge`: the offline rule; an API that fails every request (exit 1 with one line, the replies written); a
    rerun against a working API (exit 0, every item judged); an API whose judgments cannot be read (counted)."""
    from timepref.benchmarks import OPEN_QA_JUDGE_TASK
    from timepref.fake_server import FakeChatServer, rules_chat
    base = _msrvtt(setup, tmp_path)
    gen = [*base, "--scorer", "generate"]
    res = json.loads(run_cli(*gen, "--judge", "rules").stdout)
    rows = json.loads((tmp_path / "msr.json").read_text())["parts"]["normal"]["rows"]
    assert res["judge"] == "rules" and res["items"] == 4 and res["items_failed"] == 0
    assert [(r["parser"], r["judge_score"], r["correct"]) for r in rows] == [("judge", 0.0, False)] * 4
    with FakeChatServer(lambda m: (503, {"Retry-After": "3600"})) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        down = run_cli(*gen, "--judge", "openai:judge", check=False)
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert "4 LLM requests failed" in down.stderr.strip().splitlines()[-1]
    rows = json.loads((tmp_path / "msr.json").read_text())["parts"]["normal"]["rows"]
    assert all(isinstance(r["reply"], str) and r["judge_error"].startswith("failed: ") for r in rows)
    with FakeChatServer(rules_chat([OPEN_QA_JUDGE_TASK])) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        up = json.loads(run_cli(*gen, "--judge", "openai:judge").stdout)
        asked = len({r["reply"] for r in rows})   # the same question, answer and reply is asked once (cached)
        assert srv.requests == asked and up["items"] == 4 and up["items_failed"] == 0
    with FakeChatServer(lambda m: "I think they match.") as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        run_cli(*gen, "--out", tmp_path / "u.json", "--judge", "openai:other")
    assert json.loads((tmp_path / "u.json").read_text())["parts"]["normal"]["judge"]["errors"] == {
        "unreadable: no pred/score dictionary": 4}
    bad = run_cli(*base, "--judge", "rules", check=False)
    assert bad.returncode == 1 and "judge" in bad.stderr.strip().splitlines()[-1]
