import subprocess, sys
from pathlib import Path
import pytest
from timepref.world import WorldConfig, make_world


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    "A small world shared by the tests that only read it."
    out = tmp_path_factory.mktemp("world")
    return out, make_world(out, WorldConfig(n_videos=6, seed=11), progress=False)


def run_cli(*args, check=True):
    "Run the installed `timepref` command; returns the CompletedProcess."
    exe = Path(sys.executable).with_name("timepref")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, check=check, timeout=600)
