import subprocess, sys
from pathlib import Path
import pytest
from timepref.world import WorldConfig, make_world


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    "A small world shared by the tests that only read it."
    out = tmp_path_factory.mktemp("world")
    return out, make_world(out, WorldConfig(n_videos=6, seed=11), progress=False)


@pytest.fixture(scope="session")
def world_and_model(tmp_path_factory):
    "A folder with a world (half of it held out) and an untrained tiny Qwen2-VL (`model/`), for the evaluation tests."
    from timepref.models import build_tiny_qwen2vl
    d = tmp_path_factory.mktemp("eval")
    make_world(d / "world", WorldConfig(n_videos=12, seed=5, test_fraction=0.5), workers=2, progress=False)
    model, proc = build_tiny_qwen2vl(size="tiny", seed=0)
    model.save_pretrained(d / "model"); proc.save_pretrained(d / "model")
    return d


def run_cli(*args, check=True):
    "Run the installed `timepref` command; returns the CompletedProcess."
    exe = Path(sys.executable).with_name("timepref")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, check=check, timeout=600)
