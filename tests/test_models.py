"Tiny models built offline load back through the generic loader in a fresh process with the hub switched off."
import json, os, subprocess, sys
import pytest
from timepref.models import PRESETS, build_tiny_llava_onevision, build_tiny_qwen2vl, n_params

CHECK = """
import json, sys, numpy as np
from timepref.models import load_video_llm
model, proc = load_video_llm(sys.argv[1], device="cpu")
msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What happens first?"}]}]
b = proc(text=[proc.apply_chat_template(msgs, add_generation_prompt=True)], videos=[np.zeros((8, 64, 64, 3), np.uint8)], return_tensors="pt")
out = model(**b)
print(json.dumps({"arch": type(model).__name__, "logits": list(out.logits.shape), "vocab": len(proc.tokenizer)}))
"""


@pytest.mark.parametrize("build", [build_tiny_qwen2vl, build_tiny_llava_onevision])
def test_offline_build_and_load(tmp_path, build):
    model, proc = build(tmp_path / "m", "tiny")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "m")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["arch"] == type(model).__name__
    assert got["logits"][-1] == model.config.text_config.vocab_size == got["vocab"]
    assert (tmp_path / "m/model.safetensors").exists()


def test_presets_grow():
    sizes = {k: n_params(build_tiny_qwen2vl(size=k)[0]) for k in PRESETS}
    assert sizes["tiny"] < 300_000 < 1_000_000 < sizes["mini"] < 5_000_000
