"Training recipes end to end: every shipped mini recipe, two processes under accelerate, and resuming a killed stage."
import json, signal, subprocess, sys, time
from pathlib import Path
import pytest
import timepref
from timepref.base import BaseConfig, train_base_model
from timepref.methods.kto import kto_convert
from timepref.methods.temple import temple
from timepref.methods.timewarp import timewarp_explicit
from timepref.pipeline import video_items
from timepref.respond import GenConfig, VideoResponder
from timepref.train import list_recipes, load_recipe, train
from timepref.world import WorldConfig, make_world

ACCELERATE = Path(sys.executable).with_name("accelerate")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    "A world, a tiny base model after 40 SFT steps, and every kind of data the mini recipes read."
    d = tmp_path_factory.mktemp("train_data")
    make_world(d / "world", WorldConfig(n_videos=16, seed=3), workers=2, progress=False)
    train_base_model(d / "world", d / "base", BaseConfig(size="tiny", steps=40, n_frames=4, batch_size=8, n_order=1), progress=False)
    items = video_items(world=d / "world", split=None)
    timewarp_explicit(items, d / "tw.jsonl", progress=False)
    kto_convert(d / "tw.jsonl", d / "kto.jsonl", progress=False)
    temple(items, d / "temple.jsonl", VideoResponder.load(d / "base", n_frames=4, gen=GenConfig(max_new_tokens=6)), progress=False)
    return d


def overrides(d: Path, out: Path, steps: int = 1) -> list[str]:
    return [f"model={d / 'base'}", f"vars.pairs={d / 'temple.jsonl'}", f"vars.sft={d / 'tw.sft.jsonl'}", f"vars.kto={d / 'kto.jsonl'}",
            f"output_dir={out}", "n_frames=4", "tensorboard=false", f"defaults.max_steps={steps}", "defaults.batch_size=2"]


@pytest.mark.parametrize("name", [n for n in list_recipes() if n.startswith("mini/")])
def test_every_mini_recipe_trains(data, tmp_path, name):
    run = train(load_recipe(name, overrides(data, tmp_path / "run")), progress=False)
    assert [s["steps"] for s in run["stages"]] == [1] * len(load_recipe(name, overrides(data, tmp_path)).stages)
    assert (Path(run["final_model"]) / "model.safetensors").exists() and (tmp_path / "run" / "run.json").exists()


def test_two_processes_under_accelerate(data, tmp_path):
    "accelerate launch with the shipped 2-process config: both stages train data-parallel on the CPU."
    cfg = Path(timepref.__file__).parent / "accelerate" / "cpu_2proc.yaml"
    cmd = [str(ACCELERATE), "launch", "--config_file", str(cfg), "-m", "timepref.train", "--recipe", "mini/sft_dpo",
           *overrides(data, tmp_path / "run", steps=2)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert [s["processes"] for s in out["stages"]] == [2, 2] and [s["steps"] for s in out["stages"]] == [2, 2]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (run["launcher"], run["num_processes"]) == ("accelerate", 2)



def test_fsdp_config_on_the_cpu_runs_data_parallel_and_says_so(data, tmp_path):
    "accelerate drops an FSDP config on the CPU: the stage still trains on 2 processes, and the run says what ran."
    cfg = Path(timepref.__file__).parent / "accelerate" / "fsdp.yaml"
    cmd = [str(ACCELERATE), "launch", "--config_file", str(cfg), "--num_processes", "2", "--mixed_precision", "no",
           "-m", "timepref.train", "--recipe", "mini/dpo", *overrides(data, tmp_path / "run", steps=2)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "FSDP was asked for, but accelerate runs it only on GPUs" in res.stderr
    rec = json.loads((tmp_path / "run" / "stage-0-dpo" / "stage.json").read_text())
    assert (rec["processes"], rec["sharding"], rec["steps"]) == (2, None, 2)
    assert (tmp_path / "run" / "stage-0-dpo" / "model" / "model.safetensors").is_file()

def test_killed_stage_resumes_from_its_checkpoint(data, tmp_path):
    "SIGKILL after the first checkpoint; the same command goes on from it and finishes the stage."
    cmd = [sys.executable, "-m", "timepref.train", "--recipe", "mini/dpo", *overrides(data, tmp_path / "run", steps=40), "save_steps=2"]
    ck = tmp_path / "run" / "stage-0-dpo" / "checkpoints"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and not any(ck.glob("checkpoint-*/trainer_state.json")): time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally: proc.wait()
    assert not (tmp_path / "run" / "stage-0-dpo" / "stage.json").exists(), "the stage finished before the kill"
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rec = json.loads((tmp_path / "run" / "stage-0-dpo" / "stage.json").read_text())
    assert rec["steps"] == 40 and rec["resumed_from"] and "checkpoint-" in rec["resumed_from"]


def test_shipped_accelerate_configs_parse():
    from accelerate.commands.config.config_args import load_config_from_file
    kinds = {p.stem: load_config_from_file(str(p)).distributed_type.value for p in (Path(timepref.__file__).parent / "accelerate").glob("*.yaml")}
    assert kinds == {"single_gpu": "NO", "multi_gpu": "MULTI_GPU", "deepspeed_zero2": "DEEPSPEED", "deepspeed_zero3": "DEEPSPEED",
                     "fsdp": "FSDP", "cpu_2proc": "MULTI_GPU", "cpu": "NO"}


# Inputs are checked before the first step; resume skips checkpoints that a kill cut short.
import shutil
import yaml
from conftest import run_cli
from timepref.collate import trl_row
from timepref.records import PrefPair, RecordError
from timepref.train import _last_checkpoint, check_stage_data


def pair_rows(recs, n=4) -> list[dict]:
    "`n` TRL pair rows, taking turns over the first two videos of `recs`."
    return [trl_row(PrefPair(f"p{k}", r.path, "What happens first?", r.scenes[0].caption, r.scenes[-1].caption, "test"))
            for k, r in ((k, recs[k % 2]) for k in range(n))]


def write_rows(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows)); return path


def recipe_file(tmp_path: Path, *stages: dict, **fields) -> Path:
    "A recipe whose model does not exist: anything that gets past the checks fails loading it."
    spec = {"model": str(tmp_path / "no-model"), "output_dir": str(tmp_path / "run"), "tensorboard": False,
            "stages": list(stages), **fields}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(spec)); return tmp_path / "r.yaml"


@pytest.mark.parametrize("stage, recipe, error", [
    ({"max_steps": "lots"}, {}, "stage 0: field 'max_steps': expected int, got str 'lots'"),
    ({"batch_size": 2.5}, {}, "stage 0: field 'batch_size': expected int, got float 2.5"),
    ({"freeze_vision": "no"}, {}, "stage 0: field 'freeze_vision': expected bool, got str 'no'"),
    ({"lora": {"r": "eight"}}, {}, "stage 0: field 'lora.r': expected int, got str 'eight'"),
    ({}, {"n_frames": "8"}, "field 'n_frames': expected int, got str '8'")])
def test_recipe_fields_are_typed(tmp_path, stage, recipe, error):
    r = recipe_file(tmp_path, {"kind": "dpo", "data": "p.jsonl", **stage}, **recipe)
    with pytest.raises(ValueError) as e: load_recipe(r)
    assert str(e.value) == f"{r}: {error}"


@pytest.mark.parametrize("bad, error", [
    ({"video": "{tmp}/gone.mp4"}, "field 'video': cannot open video {tmp}/gone.mp4: no such file"),
    ({"difficulty": "hard"}, "field 'difficulty': expected float, got str 'hard'"),
    ({"chosen": 5}, "field 'chosen': expected a string or chat messages"),
    ({"frames": [0, 100000]}, "field 'frames': frame 100000 is not one of the")])
def test_bad_row_stops_the_run_before_any_stage_trains(world, tmp_path, bad, error):
    "Stage 0's data is fine, line 3 of stage 1's is not: nothing trains, and the error names the file, line and field."
    rows = pair_rows(world[1])
    good, data = write_rows(tmp_path / "good.jsonl", rows), tmp_path / "pairs.jsonl"
    bad = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in bad.items()}
    write_rows(data, rows[:2] + [rows[2] | bad])
    r = load_recipe(recipe_file(tmp_path, {"kind": "sft", "data": str(good)}, {"kind": "dpo", "data": str(data)}))
    with pytest.raises(RecordError) as e: train(r, progress=False)
    assert str(e.value).startswith(f"{data}:3: " + error.format(tmp=tmp_path))
    assert not (tmp_path / "run").exists()


def test_each_video_is_opened_once(world, tmp_path, monkeypatch):
    import timepref.train as tt
    opened, real = [], tt.video_meta
    monkeypatch.setattr(tt, "video_meta", lambda p: opened.append(p) or real(p))
    data, metas = write_rows(tmp_path / "pairs.jsonl", pair_rows(world[1], n=6)), {}
    assert [check_stage_data(tt.Stage(kind, str(data)), metas) for kind in ("dpo", "sft")] == [6, 6]
    assert sorted(opened) == sorted(r.path for r in world[1][:2])


def test_cli_names_the_bad_line_without_a_traceback(world, tmp_path):
    rows = pair_rows(world[1])
    data = write_rows(tmp_path / "pairs.jsonl", rows[:1] + [rows[1] | {"video": str(tmp_path / "gone.mp4")}])
    res = run_cli("train", "--recipe", recipe_file(tmp_path, {"kind": "dpo", "data": str(data)}), check=False)
    assert res.returncode == 1 and res.stderr.strip().splitlines() == [
        f"timepref: error: {data}:2: field 'video': cannot open video {tmp_path / 'gone.mp4'}: no such file"]


def test_resume_passes_over_incomplete_checkpoints(tmp_path, capsys):
    ck = tmp_path / "checkpoints"
    state = "trainer_state.json"
    for step, files in ((2, [state, "model.safetensors"]), (3, [state, "adapter_model.bin"]),
                        (4, ["model.safetensors"]), (10, [state, "config.json"]), (12, [])):
        (ck / f"checkpoint-{step}").mkdir(parents=True)
        for f in files: (ck / f"checkpoint-{step}" / f).write_text("{}")
    assert _last_checkpoint(ck) == str(ck / "checkpoint-3")
    err = capsys.readouterr().err
    assert [s for s in (2, 3, 4, 10, 12) if f"checkpoint-{s}:" in err] == [4, 10, 12]
    assert _last_checkpoint(tmp_path / "none") is None


def test_rerun_after_a_kill_mid_save_resumes(data, tmp_path):
    "The newest checkpoint has no trainer_state.json (the kill came mid-save): the rerun goes on from the one before."
    cmd = [sys.executable, "-m", "timepref.train", "--recipe", "mini/dpo", *overrides(data, tmp_path / "run", steps=4),
           "save_steps=2", f"vars.pairs={data / 'tw.jsonl'}"]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    stage = tmp_path / "run" / "stage-0-dpo"
    (stage / "stage.json").unlink()
    cut = stage / "checkpoints" / "checkpoint-6"; cut.mkdir()                 # the weights written, the state not yet
    for f in ("adapter_config.json", "adapter_model.safetensors"): shutil.copy(cut.parent / "checkpoint-4" / f, cut / f)
    res = subprocess.run(cmd + ["defaults.max_steps=6"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    rec = json.loads((stage / "stage.json").read_text())
    assert rec["steps"] == 6 and rec["resumed_from"] == str(stage / "checkpoints" / "checkpoint-4")
    assert f"passing over {cut}: incomplete" in res.stderr
