"""Every Python block of the README runs, in order, in one namespace, and prints exactly the text block that follows
it: the README cannot drift from the package, and its outputs are the real ones."""

import functools
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    return [(kind, body) for kind, body in BLOCK.findall(README.read_text()) if kind in ("python", "text")]


def test_the_readme_shows_python_blocks_with_their_outputs():
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("python") >= 4
    assert all(kinds[position - 1] == "python" for position, kind in enumerate(kinds) if kind == "text")


def test_every_python_block_runs_and_prints_what_the_readme_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    printed = None
    for number, (kind, body) in enumerate(blocks()):
        if kind == "python":
            # what the block's print calls write (the Trainer's own progress logs are not the block's output)
            buffer = io.StringIO()
            namespace["print"] = functools.partial(print, file=buffer)
            exec(compile(body, f"README.md python block {number}", "exec"), namespace)
            printed = buffer.getvalue()
        else:
            assert printed is not None, f"text block {number} follows no python block"
            assert printed == body, f"README text block {number} is not what the python block before it prints"
            printed = None
