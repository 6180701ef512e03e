"README.md is generated from nbs/index.ipynb: links are rewritten for the repository root, and a stale README fails the check."
import importlib.util, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_readme", ROOT / "scripts" / "make_readme.py")
make_readme = importlib.util.module_from_spec(spec); spec.loader.exec_module(make_readme)

def test_links_are_rewritten_relative_to_the_repository():
    md = "[a](11_collate.ipynb) [b](../experiments/REPORT.md#x) [c](.) [d](https://x.org/a) [e](#local)"
    assert make_readme._markdown(md) == ("[a](nbs/11_collate.ipynb) [b](experiments/REPORT.md#x) [c](nbs) "
                                        "[d](https://x.org/a) [e](#local)")

def test_a_stale_readme_fails_the_check(tmp_path, monkeypatch, capsys):
    fresh = make_readme.render(tmp_path)
    assert fresh.startswith(make_readme.HEADER) and "chosen:" in fresh and "![](docs/images/" in fresh
    stale = tmp_path / "README.md"
    stale.write_text(fresh.replace("chosen:", "preferred:"))
    monkeypatch.setattr(make_readme, "README", stale)
    assert make_readme.main(["--check"]) == 1
    stale.write_text(fresh)
    assert make_readme.main(["--check"]) == 0
