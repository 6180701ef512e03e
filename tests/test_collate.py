"Every video collator drives its TRL trainer with a LoRA adapter for a few steps, on every tiny family (`TINY_BUILDERS`)."
import datasets, pytest, torch
from peft import LoraConfig
from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, SFTConfig, SFTTrainer
from timepref.collate import FrameLoader, VideoDPOCollator, VideoKTOCollator, VideoSFTCollator, trl_row, video_trl_config
from timepref.models import TINY_BUILDERS, build_tiny_qwen2vl
from timepref.records import KTORow, PrefPair, SFTRow, write_jsonl

BUILDERS = TINY_BUILDERS


def records(recs, kind):
    "Two rows per video: the first scene is the right answer to 'What happens first?'."
    out = []
    for r in recs:
        first, last, q = r.scenes[0].caption, r.scenes[-1].caption, "What happens first?"
        if kind == "sft": out.append(SFTRow(id=r.id, video=r.path, prompt=q, completion=first))
        if kind == "dpo": out.append(PrefPair(id=r.id, video=r.path, prompt=q, chosen=first, rejected=last, method="test"))
        if kind == "kto": out += [KTORow(id=r.id + "+", video=r.path, prompt=q, completion=first, label=True),
                                  KTORow(id=r.id + "-", video=r.path, prompt=q, completion=last, label=False)]
    return out


TRAINERS = {"sft": (SFTConfig, SFTTrainer, VideoSFTCollator), "dpo": (DPOConfig, DPOTrainer, VideoDPOCollator),
            "kto": (KTOConfig, KTOTrainer, VideoKTOCollator)}


@pytest.mark.parametrize("arch", list(BUILDERS))
@pytest.mark.parametrize("kind", list(TRAINERS))
def test_collator_trains_with_trl_and_lora(world, tmp_path, arch, kind):
    root, recs = world
    write_jsonl([trl_row(x) for x in records(recs, kind)], tmp_path / "rows.jsonl")
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "rows.jsonl"), split="train")  # the way pipelines hand data over
    model, proc = BUILDERS[arch](size="tiny")
    Cfg, Trainer, Collator = TRAINERS[kind]
    frames = FrameLoader(root=root, n_frames=8)
    steps = len(ds) // 2 + 1                                                    # one epoch, then a step into the second
    args = video_trl_config(Cfg, output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, max_steps=steps,
                            learning_rate=5e-3, logging_steps=1, use_cpu=True, disable_tqdm=True)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = Trainer(model=model, args=args, train_dataset=ds, processing_class=proc, data_collator=Collator(proc, frames), peft_config=lora)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    assert trainer.state.global_step == steps
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == steps and all(torch.isfinite(torch.tensor(losses)))
    trained = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in n for n in trained)                      # only the adapter trains
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters() if n in before)
    assert frames.decodes == len({r.path for r in recs})                       # each video decoded once, though rows repeat


def test_sft_labels_cover_only_the_answer(world):
    root, recs = world
    model, proc = build_tiny_qwen2vl(size="tiny")
    col = VideoSFTCollator(proc, FrameLoader(root=root))
    b = col([trl_row(x) for x in records(recs[:2], "sft")])
    for i, r in enumerate(recs[:2]):
        assert proc.tokenizer.decode(b["labels"][i][b["labels"][i] >= 0]) == r.scenes[0].caption + "<|im_end|>\n"
    out = model(**b)
    assert torch.isfinite(out.loss)


def test_prompt_without_video_is_refused(world):
    root, recs = world
    _, proc = build_tiny_qwen2vl(size="tiny")
    row = {"video": recs[0].path, "prompt": [{"role": "user", "content": "no video"}], "completion": "x"}
    with pytest.raises(ValueError, match="exactly one video block"):
        VideoSFTCollator(proc, FrameLoader(root=root))([row])


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_pairs_with_different_frame_counts_batch_on_both_architectures(world, arch):
    "TEMPLE's pairs carry 2 keyframes per clip: one batch holds videos of 10 and 14 frames (LLaVA-OV stacks videos)."
    root, recs = world
    model, proc = BUILDERS[arch](size="tiny")
    rows = [trl_row(p) for p in records(recs[:2], "dpo")]
    for row, n in zip(rows, (3, 5)): row["frames"] = list(range(n))
    b = VideoDPOCollator(proc, FrameLoader(root=root))(rows)
    out = model(**{k: v for k, v in b.items() if not k.startswith(("chosen", "rejected")) and k != "completion_mask"})
    assert torch.isfinite(out.logits).all()
