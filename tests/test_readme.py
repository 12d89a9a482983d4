"""Every Python block of the README runs, in order, in one namespace, and prints exactly the text block that follows
it; then each page of docs/ the same way, in a copy of that namespace and the same folder (its blocks use the model
folders the README's blocks saved). The README and the docs cannot drift from the package, and their outputs are the
real ones."""

import functools
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(kind, body) for kind, body in BLOCK.findall(page.read_text()) if kind in ("python", "text")]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_text_block_follows_a_python_block(page):
    kinds = [kind for kind, _ in blocks(page)]
    assert all(kinds[position - 1] == "python" for position, kind in enumerate(kinds) if kind == "text")


def test_the_readme_trains_and_predicts_with_each_family():
    python = [body for kind, body in blocks(ROOT / "README.md") if kind == "python"]
    assert len(python) == 6 and len(ROOT.joinpath("README.md").read_text()) <= 15_000
    for family in ("MultiNerModel", "JointErModel", "Seq2SeqNerModel"):
        assert any(family + ".from_encoder" in body and "Trainer(" in body for body in python), family
    for task in ("multi-ner", "joint-er", "seq2seq-ner"):
        assert any(f'pipeline("{task}", model="' in body for body in python), task


def run_page(page: Path, namespace: dict) -> None:
    printed = None
    for number, (kind, body) in enumerate(blocks(page)):
        if kind == "python":
            # what the block's print calls write (the Trainer's own progress logs are not the block's output)
            buffer = io.StringIO()
            namespace["print"] = functools.partial(print, file=buffer)
            exec(compile(body, f"{page.name} python block {number}", "exec"), namespace)
            printed = buffer.getvalue()
        else:
            assert printed is not None, f"{page.name}: text block {number} follows no python block"
            assert printed == body, f"{page.name}: text block {number} is not what the python block before it prints"
            printed = None


def test_every_python_block_runs_and_prints_what_the_page_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    run_page(ROOT / "README.md", namespace)
    for page in PAGES[1:]:
        run_page(page, dict(namespace))
