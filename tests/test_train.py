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
                     "fsdp": "FSDP", "cpu_2proc": "MULTI_GPU"}
