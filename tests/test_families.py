"""Every tiny video-LLM family (`TINY_BUILDERS`) through what a user does with it: a recipe's SFT, DPO (the fast path)
and KTO stages, the saved model loaded back, `timepref eval` on a world's held-out suite with both scorers."""
import json
import pytest
import torch
from timepref.eval import evaluate
from timepref.methods.kto import kto_convert
from timepref.methods.timewarp import timewarp_explicit
from timepref.models import TINY_BUILDERS, build_tiny, load_video_llm
from timepref.pipeline import video_items
from timepref.suite import evaluate_world
from timepref.train import load_recipe, train
from timepref.world import WorldConfig, make_world


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    "A world (half of it held out), TimeWarp's explicit pairs on it, their SFT rows and KTO rows."
    d = tmp_path_factory.mktemp("families")
    make_world(d / "world", WorldConfig(n_videos=8, seed=5, test_fraction=0.5), workers=2, progress=False)
    timewarp_explicit(video_items(world=d / "world", split="train"), d / "tw.jsonl", progress=False)
    kto_convert(d / "tw.jsonl", d / "kto.jsonl", progress=False)
    return d


def overrides(d, model, out) -> list[str]:
    return [f"model={model}", f"vars.pairs={d / 'tw.jsonl'}", f"vars.sft={d / 'tw.sft.jsonl'}", f"vars.kto={d / 'kto.jsonl'}",
            f"output_dir={out}", "n_frames=4", "tensorboard=false", "defaults.max_steps=1", "defaults.batch_size=2"]


@pytest.mark.parametrize("arch", list(TINY_BUILDERS))
def test_family_trains_saves_and_evaluates(data, tmp_path, arch):
    model, proc = build_tiny(arch, "tiny")
    model.save_pretrained(tmp_path / "base"); proc.save_pretrained(tmp_path / "base")
    run = train(load_recipe("mini/sft_dpo", overrides(data, tmp_path / "base", tmp_path / "run")), progress=False)
    assert [s["steps"] for s in run["stages"]] == [1, 1] and run["stages"][1]["fast"]
    kto = train(load_recipe("mini/kto", overrides(data, run["final_model"], tmp_path / "kto")), progress=False)
    trained, _ = load_video_llm(kto["final_model"], device="cpu")
    assert type(trained) is type(model)
    before = dict(model.named_parameters())
    assert any(not torch.equal(before[n], p) for n, p in trained.named_parameters() if n in before)   # merged LoRA
    res = evaluate_world(kto["final_model"], data / "world", tmp_path / "eval", n_frames=4)
    assert res["timewar"]["parts"]["shuffled"]["scored"] > 0 and res["vinoground"]["parts"]["normal"]["vinoground"]["pairs"] > 0
    gen = evaluate(kto["final_model"], "timewar", data / "tw.timewar_normal_benchmark.json", data / "world" / "videos",
                   scorer="generate", n_frames=4, limit=2, max_new_tokens=4)
    assert gen["parts"]["normal"]["scored"] == 2 and all("reply" in r for r in gen["parts"]["normal"]["rows"])
    json.dumps(res)                                                         # the results are plain JSON
