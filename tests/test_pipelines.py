"Preference-data pipelines as a user runs them: killed and resumed, through a server backend, on bad inputs, into TRL."
import hashlib, json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import run_cli
from timepref.fake_server import FakeChatServer, rules_chat
from timepref.llm import OpenAILLM, RulesLLM
from timepref.methods.timewarp import timewarp_explicit
from timepref.pipeline import progress_path, video_items
from timepref.world import WorldConfig, make_world

OUTPUTS = ("tw.jsonl", "tw.sft.jsonl", "tw.timewar_normal.jsonl", "tw.timewar_shuffled.jsonl", "tw.videos.jsonl",
           "tw.timewar_normal_benchmark.json", "tw.timewar_shuffled_benchmark.json")


@pytest.fixture(scope="module")
def big_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("big_world")
    make_world(out, WorldConfig(n_videos=60, seed=21), workers=2, progress=False)
    return out


def snapshot(folder: Path) -> dict:
    "Every output's text with the folder's own path taken out, and a digest of the re-cut videos."
    snap = {f: (folder / f).read_text().replace(str(folder), "<out>") for f in OUTPUTS}
    h = hashlib.sha256()
    for p in sorted((folder / "tw_videos").glob("*.mp4")): h.update(p.name.encode()); h.update(p.read_bytes())
    return snap | {"videos": h.hexdigest()}


def timewarp_cmd(world, out):
    exe = Path(sys.executable).with_name("timepref")
    return [str(exe), "data", "timewarp-explicit", "--world", str(world), "--split", "", "--out", str(out / "tw.jsonl")]


def kill_after(cmd, log: Path, n_lines: int) -> int:
    "Start `cmd`, SIGKILL it once its progress log has `n_lines` lines; returns the lines seen at the kill."
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            if log.exists() and log.read_text().count("\n") >= n_lines: break
            time.sleep(0.005)
        seen = log.read_text().count("\n") if log.exists() else 0
        proc.send_signal(signal.SIGKILL)
    finally: proc.wait()
    return seen


def test_sigkill_then_rerun_loses_and_duplicates_nothing(big_world, tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "run"
    subprocess.run(timewarp_cmd(big_world, ref), check=True, capture_output=True)
    log = progress_path(run / "tw.jsonl")
    seen = [kill_after(timewarp_cmd(big_world, run), log, n) for n in (3, 25, 45)]
    assert seen[-1] < 61, "the run finished before the last kill: the test killed nothing"
    print(f"killed with {seen} progress-log lines written")
    res = json.loads(subprocess.run(timewarp_cmd(big_world, run), check=True, capture_output=True, text=True).stdout)
    assert res["resumed_from"] > 0 and res["items"] == 60
    assert snapshot(run) == snapshot(ref)
    ids = [json.loads(l)["id"] for l in (run / "tw.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == res["records"]["pairs"] > 100


def test_same_seed_same_data_other_seed_other_data(world, tmp_path):
    wdir, _ = world
    a = timewarp_explicit(video_items(world=wdir, split=None), tmp_path / "a/tw.jsonl", progress=False)
    timewarp_explicit(video_items(world=wdir, split=None), tmp_path / "b/tw.jsonl", progress=False)
    from timepref.methods.timewarp import TimeWarpConfig
    timewarp_explicit(video_items(world=wdir, split=None), tmp_path / "c/tw.jsonl", cfg=TimeWarpConfig(seed=1), progress=False)
    text = lambda d: (tmp_path / d / "tw.jsonl").read_text().replace(str(tmp_path / d), "")
    assert text("a") == text("b") and text("a") != text("c")
    assert a["records"]["pairs"] > 0


def test_bad_inputs_are_counted_not_fatal(world, tmp_path):
    wdir, recs = world
    lines = (wdir / "videos.jsonl").read_text().splitlines()
    bad = json.loads(lines[1]); bad["path"] = "videos/missing.mp4"; bad["id"] = "gone"
    (tmp_path / "videos.jsonl").write_text("\n".join([lines[0].replace('"videos/', f'"{wdir}/videos/'), "not json",
                                                      json.dumps(bad), '{"id": "x"}']) + "\n")
    s = timewarp_explicit(video_items(annotations=tmp_path / "videos.jsonl"), tmp_path / "out/tw.jsonl", progress=False)
    assert s["items"] == 4 and s["items_skipped"] == 3
    reasons = " | ".join(s["skips"])
    assert "bad annotation: invalid JSON" in reasons and "unreadable video" in reasons and "missing required field" in reasons


def test_openai_backend_same_pairs_and_free_rerun(world, tmp_path):
    "Through an OpenAI-compatible server that answers like the rules: same data, and a rerun is all cache hits."
    wdir, _ = world
    items = video_items(world=wdir, split=None)
    rules = timewarp_explicit(items, tmp_path / "rules/tw.jsonl", progress=False)
    with FakeChatServer(rules_chat()) as srv:
        gpt = lambda: OpenAILLM("gpt-4o-mini", base_url=srv.base_url, cache=tmp_path / "cache.sqlite", max_concurrency=4)
        first = timewarp_explicit(items, tmp_path / "api/tw.jsonl", gpt(), workers=4, progress=False)
        n = srv.requests
        again = timewarp_explicit(items, tmp_path / "api2/tw.jsonl", gpt(), workers=4, progress=False)
        assert srv.requests == n
    assert first["records"] == rules["records"] and first["skips"] == rules["skips"]
    assert first["llm_stats"]["requests"] == n > 0 and "cache hits" not in first["llm_stats"]
    assert again["llm_stats"]["cache hits"] == n and "requests" not in again["llm_stats"]
    strip = lambda d: [(r["id"], r["chosen"], r["rejected"]) for r in map(json.loads, (tmp_path / d / "tw.jsonl").read_text().splitlines())]
    assert strip("api") == strip("rules")


def test_malformed_replies_are_counted(world, tmp_path):
    wdir, _ = world
    good = rules_chat()
    reply = lambda m: "Sorry, I cannot help." if "Question:" in m[-1]["content"] else good(m)   # every answer fails to parse
    with FakeChatServer(reply) as srv:
        s = timewarp_explicit(video_items(world=wdir, split=None), tmp_path / "tw.jsonl",
                              OpenAILLM("m", base_url=srv.base_url, max_retries=0), progress=False)
    assert s["records"]["pairs"] == 0 and s["records"]["sft"] > 0
    assert s["skips"]["answer: no answer line"] > 0 and s["llm_stats"]["parse: no answer line"] == s["skips"]["answer: no answer line"]


def test_pipeline_outputs_train_with_trl(world, tmp_path):
    "The pairs and KTO rows load with `datasets` and train a tiny video LLM with TRL for a step."
    import datasets
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer
    from timepref.collate import FrameLoader, VideoDPOCollator, VideoKTOCollator, video_trl_config
    from timepref.methods.kto import kto_convert
    from timepref.models import build_tiny_qwen2vl
    wdir, _ = world
    timewarp_explicit(video_items(world=wdir, split=None), tmp_path / "tw.jsonl", progress=False)
    kto_convert(tmp_path / "tw.jsonl", tmp_path / "kto.jsonl", progress=False)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    for cls, cfg_cls, col_cls, f in ((DPOTrainer, DPOConfig, VideoDPOCollator, "tw.jsonl"), (KTOTrainer, KTOConfig, VideoKTOCollator, "kto.jsonl")):
        model, proc = build_tiny_qwen2vl(size="tiny", seed=0)
        ds = datasets.load_dataset("json", data_files=str(tmp_path / f), split="train").select(range(4))
        args = video_trl_config(cfg_cls, output_dir=str(tmp_path / f"o-{f}"), per_device_train_batch_size=2, max_steps=1,
                                logging_steps=1, **({"desirable_weight": 1.0} if cfg_cls is KTOConfig else {}))
        tr = cls(model=model, args=args, train_dataset=ds, processing_class=proc, peft_config=lora,
                 data_collator=col_cls(proc, FrameLoader(n_frames=4)))
        out = tr.train()
        assert out.global_step == 1 and out.training_loss == out.training_loss   # a finite number, not NaN


def test_cli_data_commands(world, tmp_path):
    wdir, _ = world
    tw = json.loads(run_cli("data", "timewarp-explicit", "--world", wdir, "--out", tmp_path / "tw.jsonl").stdout)
    assert tw["items"] == sum(1 for _, r in video_items(world=wdir, split="train"))
    kto = json.loads(run_cli("data", "kto", "--pairs", tmp_path / "tw.jsonl", "--out", tmp_path / "kto.jsonl", "--n", 8).stdout)
    assert kto["rows"] == 8 and 3 * tw["records"]["pairs"] <= kto["pool"] <= 4 * tw["records"]["pairs"]
    mix = json.loads(run_cli("data", "combine", "--pairs", tmp_path / "tw.jsonl", tmp_path / "absent.jsonl", "--out", tmp_path / "mix.jsonl").stdout)
    assert mix["taken"] == {"timewarp-explicit": tw["records"]["pairs"]} and mix["missing_methods"] == ["hound", "timewarp-implicit"]
    bad = run_cli("data", "kto", "--pairs", tmp_path / "nope.jsonl", "--out", tmp_path / "k2.jsonl", check=False)
    assert bad.returncode == 1 and "nope.jsonl: no such file" in bad.stderr


def test_cli_batch_api_path(world, tmp_path, monkeypatch):
    "`--llm openai:… --batch`: every reply comes through the Batch API, none one by one, and the data equal the rules'."
    wdir, _ = world
    with FakeChatServer(rules_chat()) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url); monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        res = json.loads(run_cli("data", "timewarp-explicit", "--world", wdir, "--llm", "openai:gpt-4o-mini", "--batch",
                                 "--out", tmp_path / "b/tw.jsonl").stdout)
        assert srv.requests == 0 and len(srv.batches) == 2
    rules = json.loads(run_cli("data", "timewarp-explicit", "--world", wdir, "--out", tmp_path / "r/tw.jsonl").stdout)
    assert res["records"] == rules["records"] and res["llm_stats"]["batch rounds"] == 2
    assert "test-key" not in (tmp_path / "b/tw.summary.json").read_text() + (tmp_path / "b/tw.progress.jsonl").read_text()
    bad = run_cli("data", "timewarp-explicit", "--world", wdir, "--batch", "--out", tmp_path / "x.jsonl", check=False)
    assert bad.returncode == 1 and "--batch needs a backend with a Batch API" in bad.stderr


def test_refused_requests_are_counted_not_fatal(world, tmp_path):
    "A server that refuses every answer request (HTTP 400): the pairs are skipped and counted, the run finishes."
    wdir, _ = world
    good = rules_chat()
    with FakeChatServer(lambda m: 400 if "Question:" in m[-1]["content"] else good(m)) as srv:
        s = timewarp_explicit(video_items(world=wdir, split=None), tmp_path / "tw.jsonl",
                              OpenAILLM("m", base_url=srv.base_url, max_retries=2, backoff=0.01), progress=False)
    assert s["records"]["pairs"] == 0 and s["records"]["sft"] > 0 and s["skips"]["answer: request failed"] > 0
    assert s["llm_stats"]["refused"] >= s["skips"]["answer: request failed"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from timepref.models import build_tiny_qwen2vl
    out = tmp_path_factory.mktemp("tiny_model")
    model, proc = build_tiny_qwen2vl(size="tiny", seed=0)
    model.save_pretrained(out); proc.save_pretrained(out)
    return out


def implicit_cmd(world, model, out):
    exe = Path(sys.executable).with_name("timepref")
    return [str(exe), "data", "timewarp-implicit", "--world", str(world), "--split", "", "--model", str(model), "--batch-size", "4",
            "--max-new-tokens", "6", "--n-frames", "4", "--out", str(out / "im.jsonl")]


def test_implicit_sigkill_then_rerun(big_world, tiny_model, tmp_path):
    "The self-generated pipeline, killed twice mid-run: the rerun's pairs equal an uninterrupted run's."
    ref, run = tmp_path / "ref", tmp_path / "run"
    subprocess.run(implicit_cmd(big_world, tiny_model, ref), check=True, capture_output=True)
    log = progress_path(run / "im.jsonl")
    seen = [kill_after(implicit_cmd(big_world, tiny_model, run), log, n) for n in (6, 30)]
    assert seen[-1] < 61, "the run finished before the last kill"
    res = json.loads(subprocess.run(implicit_cmd(big_world, tiny_model, run), check=True, capture_output=True, text=True).stdout)
    assert res["resumed_from"] > 0 and res["items"] == 60
    assert (run / "im.jsonl").read_text() == (ref / "im.jsonl").read_text()
    ids = [json.loads(l)["id"] for l in (run / "im.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == res["records"]["pairs"]


def test_cli_hound_and_implicit_feed_the_mix(world, tiny_model, tmp_path):
    "Base-DPO and Implicit from the command line, then the Combined mix of all three methods."
    wdir, _ = world
    common = ["--world", wdir, "--split", "", "--model", tiny_model, "--n-frames", 4, "--max-new-tokens", 6]
    h = json.loads(run_cli("data", "hound", *common, "--k", 3, "--out", tmp_path / "hound.jsonl").stdout)
    assert h["items"] == 6 and h["records"]["pairs"] + sum(h["skips"].values()) == 6
    im = json.loads(run_cli("data", "timewarp-implicit", *common, "--out", tmp_path / "implicit.jsonl").stdout)
    run_cli("data", "timewarp-explicit", "--world", wdir, "--split", "", "--out", tmp_path / "tw.jsonl")
    mix = json.loads(run_cli("data", "combine", "--pairs", tmp_path / "hound.jsonl", tmp_path / "tw.jsonl", tmp_path / "implicit.jsonl",
                             "--out", tmp_path / "mix.jsonl").stdout)
    assert set(mix["available"]) == {m for m, n in (("hound", h["records"]["pairs"]), ("timewarp-implicit", im["records"]["pairs"]),
                                                    ("timewarp-explicit", 1)) if n}


def test_cli_tpo(world, tiny_model, tmp_path):
    wdir, _ = world
    common = ["--world", wdir, "--split", "", "--model", tiny_model, "--n-frames", 4, "--max-new-tokens", 6, "--sample-frames", 16]
    s = json.loads(run_cli("data", "tpo", *common, "--no-post-filter", "--out", tmp_path / "tpo.jsonl").stdout)
    assert s["items"] == 6 and s["records"]["pairs"] + sum(s["skips"].values()) == 6
    rows = [json.loads(l) for l in (tmp_path / "tpo.jsonl").read_text().splitlines()]
    assert all(len(r["frames"]) in (4, 16) and r["perturbation"] in ("irrelevant", "incomplete") for r in rows)
    f = json.loads(run_cli("data", "tpo", *common, "--out", tmp_path / "tpo_f.jsonl").stdout)
    assert f["records"]["pairs"] + f["filter_removed"] <= s["records"]["pairs"]


@pytest.fixture(scope="module")
def talking_model(big_world, tmp_path_factory):
    "A tiny model after 40 SFT steps: its answers are not empty (an untrained one only says newlines)."
    from timepref.base import BaseConfig, train_base_model
    out = tmp_path_factory.mktemp("talking_model")
    train_base_model(big_world, out, BaseConfig(size="tiny", steps=40, n_frames=4, batch_size=8, n_order=1), progress=False)
    return out


def temple_cmd(videos, model, out):
    exe = Path(sys.executable).with_name("timepref")
    return [str(exe), "data", "temple", "--videos", str(videos), "--model", str(model), "--batch-size", "4",
            "--max-new-tokens", "6", "--out", str(out / "temple.jsonl")]


def test_temple_on_raw_videos_sigkill_then_rerun(big_world, talking_model, tmp_path):
    "TEMPLE on a plain folder of videos (shots found, not given), killed twice: the rerun's pairs and clips equal an uninterrupted run's."
    ref, run = tmp_path / "ref", tmp_path / "run"
    first = json.loads(subprocess.run(temple_cmd(big_world / "videos", talking_model, ref), check=True, capture_output=True, text=True).stdout)
    assert first["items"] == 60 and first["records"]["clips"] > 20 and first["records"]["pairs"] > 0
    log = progress_path(run / "temple.jsonl")
    seen = [kill_after(temple_cmd(big_world / "videos", talking_model, run), log, n) for n in (5, 30)]
    assert seen[-1] < 61, "the run finished before the last kill"
    res = json.loads(subprocess.run(temple_cmd(big_world / "videos", talking_model, run), check=True, capture_output=True, text=True).stdout)
    assert res["resumed_from"] > 0 and res["records"] == first["records"]
    for f in ("temple.jsonl", "temple.clips.jsonl"): assert (run / f).read_text() == (ref / f).read_text()
    ids = [json.loads(l)["id"] for l in (run / "temple.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids))


def test_cli_temple_levels_and_inputs(world, tiny_model, tmp_path):
    wdir, _ = world
    s = json.loads(run_cli("data", "temple", "--world", wdir, "--split", "", "--model", tiny_model, "--max-new-tokens", 6,
                           "--difficulties", 4, 2, "--per-level", 3, "--no-context", "--out", tmp_path / "t.jsonl").stdout)
    assert s["items"] == 6 and set(s["pairs_by_level"]) <= {"r4", "r2"}
    rows = [json.loads(l) for l in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert all(r["difficulty"] in (4, 2) and r["method"] == "temple" and len(r["frames"]) % 2 == 0 for r in rows)
    bad = run_cli("data", "tpo", "--videos", Path(wdir) / "videos", "--model", tiny_model, "--out", tmp_path / "x.jsonl", check=False)
    assert bad.returncode == 1 and "tpo needs captions" in bad.stderr
    none = run_cli("data", "temple", "--model", tiny_model, "--out", tmp_path / "y.jsonl", check=False)
    assert none.returncode == 1 and "give --world, --annotations or --videos" in none.stderr


def test_cli_difficulty(world, tiny_model, tmp_path):
    "TimeWarp Table 3 from the command line: scores with chance and provenance, one row per pair in the report file."
    wdir, _ = world
    run_cli("data", "timewarp-explicit", "--world", wdir, "--split", "", "--out", tmp_path / "tw.jsonl")
    rep = json.loads(run_cli("data", "difficulty", "--pairs", tmp_path / "tw.jsonl", "--model", tiny_model, "--n-frames", 4,
                             "--limit", 5, "--out", tmp_path / "d.json").stdout)
    assert rep["overall"]["pairs"] == 5 and rep["chance"]["group"] == 1 / 6 and rep["second_video"]["perturbed video"] == 5
    assert "mean per token" in rep["scorer"] and len(json.loads((tmp_path / "d.json").read_text())["rows"]) == 5
    bad = run_cli("data", "difficulty", "--pairs", tmp_path / "none.jsonl", "--model", tiny_model, check=False)
    assert bad.returncode == 1 and "none.jsonl" in bad.stderr


def test_second_run_into_same_output_touches_nothing(world, tmp_path):
    "A run that finds the output locked is refused before it removes anything of the run that holds it."
    import fcntl
    from timepref.records import RecordError
    wdir, _ = world
    out = tmp_path / "tw.jsonl"
    half = tmp_path / "tw_videos" / ".w11-00002.shuffle.abc123.mp4"     # the first run's video being written
    half.parent.mkdir(parents=True); half.write_bytes(b"partial")
    with open(progress_path(out).with_name(progress_path(out).name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)                   # the first run holds the lock
        with pytest.raises(RecordError, match="another run is writing this output"):
            timewarp_explicit(video_items(world=wdir, split=None), out, progress=False)
        assert half.read_bytes() == b"partial"
    timewarp_explicit(video_items(world=wdir, split=None), out, progress=False)  # once it is free: cleared, then run
    assert not half.exists() and out.stat().st_size > 0


def test_absurd_timings_are_counted_skips(world, tmp_path):
    "Infinity, 1e308, overlapping scenes, scenes past the file's end and an inflated duration: each a counted skip, twice."
    wdir, _ = world
    good = json.loads((wdir / "videos.jsonl").read_text().splitlines()[0])
    good["path"] = str(wdir / good["path"])
    def variant(i, change):
        d = json.loads(json.dumps(good)); d["id"] = f"bad{i}"; change(d); return json.dumps(d)
    def last_end(v): return lambda d: d["scenes"][-1].__setitem__("end", v)
    def both(v): return lambda d: (d.__setitem__("duration", v), d["scenes"][-1].__setitem__("end", v))
    def overlap(d): d["scenes"][1]["start"] = d["scenes"][0]["start"]
    def duration(d): d["duration"] = 9999.0
    lines = [json.dumps(good), variant(0, last_end(float("inf"))), variant(1, both(1e308)), variant(2, overlap),
             variant(3, both(good["duration"] + 30)), variant(4, duration)]
    (tmp_path / "videos.jsonl").write_text("\n".join(lines) + "\n")
    for out in ("a", "b"):   # a rerun into a fresh output meets the same records: no crash either time
        s = timewarp_explicit(video_items(annotations=tmp_path / "videos.jsonl"), tmp_path / out / "tw.jsonl", progress=False)
        assert s["items"] == 6 and s["items_skipped"] == 5, s["skips"]
    reasons = " | ".join(s["skips"])
    for why in ("expected a finite number", "scenes end past the video", "scenes must not overlap", "the file lasts"):
        assert why in reasons, (why, reasons)
    assert str(tmp_path) not in reasons
    recut = [json.loads(l) for l in (tmp_path / "a" / "tw.videos.jsonl").read_text().splitlines()]
    assert recut and max(r["duration"] for r in recut) <= good["duration"] + 1e-6


def test_outage_leaves_items_for_a_rerun(world, tmp_path, monkeypatch):
    """One video's requests fail (HTTP 500) while every answer is unparseable: that video is not logged and the
    command exits 1 with one line; the rerun, the server back, does that video only; the bad answers stay skips."""
    from timepref.prompts import caption_block
    wdir, recs = world
    down, good = [True], rules_chat()
    x = caption_block([s.caption for s in recs[0].scenes]) + "\n\n"     # in the prompts about video 0 in its own order
    def reply(m):
        if down[0] and x in m[-1]["content"]: return 500
        return "Sorry, I cannot help." if down[0] and "Question:" in m[-1]["content"] else good(m)
    cmd = ("data", "timewarp-explicit", "--world", wdir, "--split", "", "--llm", "openai:m", "--max-retries", "0",
           "--timeout", "10", "--out", tmp_path / "tw.jsonl")
    with FakeChatServer(reply) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url); monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        first = run_cli(*cmd, check=False)
        assert first.returncode == 1 and first.stderr.count("\n") == 1, first.stderr
        assert first.stderr.startswith("timepref: error: 1 LLM request failed after all retries (the server "
                                       "answered 500: 1), so 1 of 6 items are not done; run the same command")
        s1 = json.loads(first.stdout)
        assert (s1["items"], s1["items_failed"], s1["llm_stats"]["failed requests"]) == (5, 1, 1)
        logged = [json.loads(l)["key"] for l in progress_path(tmp_path / "tw.jsonl").read_text().splitlines()[1:]]
        assert recs[0].id not in logged and len(logged) == 5
        down[0], sent = False, srv.requests
        again = run_cli(*cmd)
        s2 = json.loads(again.stdout)
        assert srv.requests > sent and s2["llm_stats"]["requests"] == srv.requests - sent      # video 0's requests only
    assert (s2["resumed_from"], s2["items"], s2["items_failed"]) == (5, 6, 0) and again.stderr == ""
    assert s2["skips"]["answer: no answer line"] == s1["skips"]["answer: no answer line"] > 0   # done, counted
    sft = [json.loads(l) for l in (tmp_path / "tw.sft.jsonl").read_text().splitlines()]
    assert any(r["meta"]["source"] == recs[0].id for r in sft)


def test_cli_html_page_and_wrong_key_are_one_line(world, tmp_path, monkeypatch, capsys):
    "HTTP 200 with an HTML page: every item left for a rerun, exit 1; HTTP 401: the run stops with one line, exit 1."
    from timepref.cli import run
    wdir, _ = world
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    cmd = ["data", "timewarp-explicit", "--world", str(wdir), "--split", "", "--llm", "openai:m", "--max-retries", "0"]
    with FakeChatServer(lambda m: ("raw", "<html>Service Unavailable</html>", "text/html")) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        assert run(cmd + ["--out", str(tmp_path / "a/tw.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err == ("timepref: error: 6 LLM requests failed after all retries (the server answered 200 with text/html, "
                   "not JSON: 6), so 6 of 6 items are not done; run the same command again to retry them\n")
    with FakeChatServer(lambda m: 401) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        assert run(cmd + ["--out", str(tmp_path / "b/tw.jsonl")]) == 1
        assert srv.requests == 1
    assert capsys.readouterr().err == ("timepref: error: the LLM server refused the API key (401): "
                                       "set a valid key in OPENAI_API_KEY\n")


def test_llm_options_on_every_llm_command(tmp_path, monkeypatch):
    "`--timeout` and `--max-retries` wherever `--llm` is taken, passed to the server backend, refused for the others."
    from timepref.cli import _llm, parser
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    for method in ("timewarp-explicit", "hound", "tpo", "temple"):
        model = [] if method == "timewarp-explicit" else ["--model", "m"]
        a = parser().parse_args(["data", method, "--world", "w", *model, "--out", str(tmp_path / f"{method}.jsonl"),
                                 "--llm", "openai:m", "--timeout", "7.5", "--max-retries", "2"])
        llm = _llm(a)
        assert (llm.timeout, llm.client.timeout, llm.max_retries) == (7.5, 7.5, 2), method
        a.llm = "rules"
        with pytest.raises(ValueError, match="--timeout and --max-retries are for openai:MODEL"): _llm(a)


def test_a_failed_request_fails_its_item_only_in_a_batched_step(tmp_path):
    "In a batched step (plan, one model call, finish), an `LLMError` in one item's plan or finish fails that item only."
    from timepref.llm import LLMError
    from timepref.pipeline import asking_step, run_items
    down = {"b", "d"}
    def plan(w):
        if w == "b" and w in down: raise LLMError("gave up", "the server answered 503")
        return w, [w]
    def finish(w, answers, res):
        if w == "d" and w in down: raise LLMError("gave up", "no answer within 60 s")
        res.add("rows", {"w": w, "a": answers[0]})
    step = asking_step(lambda qs: [q.upper() for q in qs], plan, finish)
    items, outs = [(w, w) for w in "abcde"], {"rows": tmp_path / "r.jsonl"}
    s = run_items(items, step, outs, {"v": 1}, batch_size=5, progress=False)
    assert (s["items"], s["items_failed"]) == (3, 2)
    assert s["failed"] == {"the server answered 503": 1, "no answer within 60 s": 1}
    down.clear()
    s = run_items(items, step, outs, {"v": 1}, batch_size=5, progress=False)
    assert (s["resumed_from"], s["items"], s["items_failed"]) == (3, 5, 0)
    assert sorted(json.loads(l)["w"] for l in (tmp_path / "r.jsonl").read_text().splitlines()) == list("abcde")
