"The fast preference-training path (timepref.fast) trains as TRL's own path does, on every tiny family."
import json, subprocess, sys, warnings
from pathlib import Path
import datasets, pytest, torch
from peft import LoraConfig
from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer
from timepref.collate import FrameLoader, VideoDPOCollator, VideoKTOCollator, trl_row, video_trl_config
from timepref.fast import VisionOnce, fast_video_llm, precompute_reference
from timepref.models import TINY_BUILDERS, build_tiny
from timepref.records import KTORow, PrefPair


@pytest.fixture(scope="module")
def rows(world):
    root, recs = world
    pairs = [PrefPair(id=r.id, video=r.path, prompt="What happens first?", chosen=r.scenes[0].caption,
                      rejected=f"{r.scenes[-1].caption} Then {r.scenes[0].caption}", method="t") for r in recs[:4]]
    kto = [KTORow(id=p.id + s, video=p.video, prompt=p.prompt, completion=c, label=s == "+")
           for p in pairs for s, c in (("+", p.chosen), ("-", p.rejected))]
    return {"dpo": datasets.Dataset.from_list([trl_row(p) for p in pairs]),
            "kto": datasets.Dataset.from_list([trl_row(r) for r in kto])}


def trainer(kind, arch, ds, fast, tmp, frozen=True, bs=4, checkpointing=False):
    "A DPO or KTO trainer whose policy differs from its reference (random LoRA B), from the same weights every time."
    torch.manual_seed(0)
    model, proc = build_tiny(arch, "mini")
    ref = None
    if frozen: model.requires_grad_(False)
    else: ref = build_tiny(arch, "mini")[0]
    if fast: model.fast = fast_video_llm(model)
    if fast and ref is not None: fast_video_llm(ref)
    dpo = (DPOConfig, DPOTrainer, VideoDPOCollator)
    Cfg, Tr, Col = dpo if kind == "dpo" else (KTOConfig, KTOTrainer, VideoKTOCollator)
    col = Col(proc, FrameLoader(n_frames=4), **({"pair_once": fast} if kind == "dpo" else {}))
    args = video_trl_config(Cfg, output_dir=str(tmp / kind), per_device_train_batch_size=bs, max_steps=1,
                            activation_checkpointing=checkpointing)
    lora = LoraConfig(r=4, lora_alpha=8, task_type="CAUSAL_LM", target_modules=r".*language_model.*_proj")
    lora = lora if frozen else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = Tr(model=model, args=args, train_dataset=ds, processing_class=proc, data_collator=col, peft_config=lora,
                ref_model=ref)
    if checkpointing:                                        # as `train()` turns it on
        tr.accelerator.unwrap_model(tr.model).get_base_model().activation_checkpointing_enable()
    g = torch.Generator().manual_seed(1)
    for n, p in tr.model.named_parameters():
        if "lora_B" in n or (not frozen and "lm_head" in n): p.data.add_(torch.randn(p.shape, generator=g) * 0.05)
    return tr


def step(tr, n=4):
    "Loss, logged metrics and gradients of one training step on the first `n` rows."
    tr.model.train(); tr.model.zero_grad()
    loss = tr.compute_loss(tr.model, tr._prepare_inputs(tr.data_collator([tr.train_dataset[i] for i in range(n)])))
    loss.backward()
    return loss.item(), {k: v[-1] for k, v in tr._metrics["train"].items()}, \
        {n: p.grad.clone() for n, p in tr.model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("kind", ["dpo", "kto"])
@pytest.mark.parametrize("arch", list(TINY_BUILDERS))
def test_fast_path_gives_the_same_loss_rewards_and_gradients(rows, tmp_path, kind, arch):
    l0, m0, g0 = step(trainer(kind, arch, rows[kind], False, tmp_path))
    tr = trainer(kind, arch, rows[kind], True, tmp_path)
    precompute_reference(tr, tmp_path / "ref", progress=False)
    vision, prompt = tr.accelerator.unwrap_model(tr.model).get_base_model().fast
    vision.passes = prompt.shared = 0
    l1, m1, g1 = step(tr)
    assert abs(l0 - 0.6931) > 1e-3 and g0.keys() == g1.keys() and len(g0) > 0
    assert abs(l0 - l1) < 1e-5, (l0, l1)
    for k in m0:
        if "rewards" in k or "logps" in k: assert abs(m0[k] - m1[k]) < 1e-4 * max(1, abs(m0[k])), (k, m0[k], m1[k])
    assert max((g0[n] - g1[n]).abs().max().item() for n in g0) < 1e-5
    assert vision.passes == 1 and prompt.shared == (kind == "dpo")   # the reference was precomputed: not run


@pytest.mark.parametrize("arch", list(TINY_BUILDERS))
def test_under_activation_checkpointing_whole_rows_run_and_agree(rows, tmp_path, arch):
    "transformers drops caches in checkpointed layers: PromptOnce runs whole rows (at their own positions) instead."
    l0, _, g0 = step(trainer("dpo", arch, rows["dpo"], False, tmp_path, checkpointing=True))
    tr = trainer("dpo", arch, rows["dpo"], True, tmp_path, checkpointing=True)
    l1, _, g1 = step(tr)
    vision, prompt = tr.accelerator.unwrap_model(tr.model).get_base_model().fast
    assert prompt.shared == 1 and vision.passes == 1 and abs(l0 - l1) < 1e-5   # the reference pass runs unchecked
    assert max((g0[n] - g1[n]).abs().max().item() for n in g0) < 1e-5


@pytest.mark.parametrize("arch", list(TINY_BUILDERS))
def test_a_trained_encoder_is_still_encoded_once_per_pair_and_equal(rows, tmp_path, arch):
    "Full fine-tuning (the encoder trains): features are not kept, the pair's two copies still share one pass."
    l0, _, g0 = step(trainer("dpo", arch, rows["dpo"], False, tmp_path, frozen=False))
    tr = trainer("dpo", arch, rows["dpo"], True, tmp_path, frozen=False)
    passes = []
    h = tr.model.model.get_video_features
    tr.model.model.get_video_features = lambda *a, **k: (passes.append(1), h(*a, **k))[1]
    l1, _, g1 = step(tr)
    assert len(passes) == 1 and abs(l0 - l1) < 1e-5
    assert any("visual" in n or "vision_tower" in n for n in g1)
    assert max((g0[n] - g1[n]).abs().max().item() for n in g0) < 1e-5


def test_kept_features_are_never_reused_for_other_pixels():
    model, proc = build_tiny("qwen2vl", "mini")
    model.requires_grad_(False)
    once = VisionOnce(model)
    frames = torch.rand(2, 4, 3, 56, 56)
    enc = proc(text=["<|vision_start|><|video_pad|><|vision_end|> hi"] * 2, videos=list(frames.numpy()),
               return_tensors="pt", do_rescale=False)
    with torch.no_grad():
        a = model(**enc).logits
        model(**enc); assert once.passes == 1                        # the same tensor: kept features
        enc["pixel_values_videos"].mul_(0.5); b = model(**enc).logits   # changed in place: computed again
        assert once.passes == 2 and not torch.allclose(a, b)
        enc["pixel_values_videos"] = enc["pixel_values_videos"].clone(); model(**enc)   # equal values, new tensor
        assert once.passes == 3
    with pytest.raises(ValueError, match="not 2 equal copies"):
        one = {k: v[:1] if k == "video_grid_thw" else v for k, v in enc.items()}
        model(**{**one, "input_ids": one["input_ids"][:1], "attention_mask": one["attention_mask"][:1]},
              video_repeats=2)


def test_reference_store_survives_a_kill_and_is_shared(rows, tmp_path):
    make = lambda ds=rows["dpo"]: trainer("dpo", "qwen2vl", ds, True, tmp_path, bs=2)
    path = precompute_reference(make(), tmp_path / "ref", progress=False)
    good = path.read_text(); lines = good.splitlines(keepends=True)
    assert len(lines) == 2                                                             # one line per batch of 2
    path.unlink(); path.with_suffix(".partial").write_text(lines[0] + lines[1][:9])    # killed mid-write
    computed = []
    again = make()
    again.compute_ref_log_probs = lambda m, b: computed.append(1) or type(again).compute_ref_log_probs(again, m, b)
    assert precompute_reference(again, tmp_path / "ref", progress=False) == path and path.read_text() == good
    assert len(computed) == 1                                                          # only the batch it lost
    assert again.train_dataset["ref_chosen_logps"] == [x[0] for l in lines for x in json.loads(l)]
    other = make(rows["dpo"].select([1, 0, 2, 3]))                                     # other rows: another key
    assert precompute_reference(other, tmp_path / "ref", progress=False) != path
    for damaged in (lines[0], lines[0] + "garbage\n" + lines[1]):                      # lost rows, a bad line
        path.write_text(damaged)
        with pytest.raises(ValueError, match="2 rows of reference log-probs for 4 rows"):
            precompute_reference(make(), tmp_path / "ref", progress=False)
        assert path.read_text() == damaged                                             # read, never rewritten
