"""Every way of saving a model leaves a folder that loads offline, with multiner installed or not, and holds exactly
the code files it imports."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import NESTED
from transformers import AutoModel, AutoProcessor, Trainer, TrainingArguments, pipeline
from transformers.dynamic_module_utils import get_relative_import_files

import multiner
from multiner.hub_folders import code_files, copy_code_files

TEXTS = [text for text, _ in NESTED] + ["The University of Manchester is in England. " * 40]
FAMILY_MODULES = [
    "configuration_multiner.py",
    "modeling_multiner.py",
    "processing_multiner.py",
    "pipeline_multiner.py",
]


def triples(results):
    return [[[e["entity_group"], e["start"], e["end"], round(e["score"], 5)] for e in found] for found in results]


@pytest.fixture(scope="module")
def saved_folders(packed_dir, tmp_path_factory):
    """The same trained model saved the three ways a user saves one, and a folder whose copied code is stale (as
    one saved by an older multiner) refreshed the README's way."""
    root = tmp_path_factory.mktemp("saved")
    model, processor = AutoModel.from_pretrained(packed_dir), AutoProcessor.from_pretrained(packed_dir)
    folders = {name: root / name for name in ("save_pretrained", "trainer", "pipeline", "refreshed")}
    model.save_pretrained(folders["save_pretrained"])
    processor.save_pretrained(folders["save_pretrained"])
    args = TrainingArguments(output_dir=str(root / "run"), report_to=[], use_cpu=True)
    Trainer(model=model, args=args, processing_class=processor).save_model(str(folders["trainer"]))
    pipeline("multi-ner", model=model, processor=processor).save_pretrained(folders["pipeline"])
    stale = root / "stale"
    pipeline("multi-ner", model=model, processor=processor).save_pretrained(stale)
    for code in stale.glob("*.py"):
        code.write_text('raise ImportError("stale code")\n')
    pipeline("multi-ner", model=str(stale)).save_pretrained(folders["refreshed"])  # the README's refresh
    return folders


def test_each_folder_holds_exactly_the_files_the_family_imports(saved_folders):
    package = Path(multiner.__file__).parent
    needed = set(FAMILY_MODULES)
    for module in FAMILY_MODULES:
        needed |= {Path(path).name for path in get_relative_import_files(str(package / module))}
    assert "text_core.py" in needed and "query_modes_multiner.py" in needed and "evaluation.py" not in needed
    for name, folder in saved_folders.items():
        code = {path.name for path in folder.glob("*.py")}
        assert code == needed, name
        config = json.loads((folder / "config.json").read_text())
        assert config["auto_map"]["AutoModel"] == "modeling_multiner.MultiNerModel"
        assert config["custom_pipelines"]["multi-ner-remote"]["impl"] == "pipeline_multiner.MultiNerPipeline"
        processor_config = json.loads((folder / "processor_config.json").read_text())
        # the settings the model owns live in config.json only
        assert not {"entity_types", "query_mode", "max_span_length"} & set(processor_config)
        # weights as safetensors only (Trainer.save_model also writes its own training_args.bin)
        assert (folder / "model.safetensors").is_file()
        assert not [path.name for path in folder.iterdir() if path.name.startswith(("pytorch_model", "model.bin"))]


def test_code_files_follow_relative_imports():
    names = [path.name for path in code_files(["pipeline_multiner.py"])]
    assert names[0] == "pipeline_multiner.py"
    assert {"processing_multiner.py", "text_core.py", "card_multiner.py"} <= set(names)


def test_copy_code_files_into_the_package_folder_itself_is_a_no_op(tmp_path):
    copies = copy_code_files(tmp_path, ["decoding.py"])
    assert [path.name for path in copies] == ["decoding.py"] and (tmp_path / "decoding.py").is_file()
    copy_code_files(Path(multiner.__file__).parent, ["decoding.py"])  # same file: nothing to copy, no error


def test_installed_package_loads_every_folder_under_its_task(saved_folders, packed_dir):
    """`custom_pipelines` names its own task, so the installed "multi-ner" task still loads without remote code."""
    expected = triples(pipeline("multi-ner", model=packed_dir)(TEXTS))
    for name, folder in saved_folders.items():
        ner = pipeline("multi-ner", model=str(folder))
        assert type(ner).__module__ == "multiner.pipeline_multiner", name
        assert triples(ner(TEXTS)) == expected, name


def test_every_folder_loads_and_resaves_without_multiner(saved_folders, packed_dir, tmp_path):
    model, processor = AutoModel.from_pretrained(packed_dir).eval(), AutoProcessor.from_pretrained(packed_dir)
    batch = processor(TEXTS)
    with torch.no_grad():
        expected = triples(processor.decode(model(**batch), batch))
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["multiner"] = None  # multiner cannot be imported in this process
        import torch
        from transformers import AutoModel, AutoProcessor, pipeline
        texts, results = {TEXTS!r}, {{}}
        triples = lambda found: [
            [[e["entity_group"], e["start"], e["end"], round(e["score"], 5)] for e in f] for f in found
        ]
        for name, folder in {json.dumps({name: str(path) for name, path in saved_folders.items()})}.items():
            model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
            processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
            assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
            batch = processor(texts)
            with torch.no_grad():
                decoded = processor.decode(model(**batch), batch)
            ner = pipeline(model=folder, trust_remote_code=True)
            ner.save_pretrained(folder + "-resaved")  # the copy re-saves, model card included
            resaved = pipeline(model=folder + "-resaved", trust_remote_code=True)
            results[name] = [triples(decoded), triples(ner(texts)), triples(resaved(texts))]
        print("RESULTS " + json.dumps(results))
        """
    )
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULTS "))
    results = json.loads(line.removeprefix("RESULTS "))
    assert set(results) == set(saved_folders)
    for name, (decoded, piped, resaved) in results.items():
        assert decoded == expected, name
        assert piped == expected and resaved == expected, name
        assert (Path(str(saved_folders[name]) + "-resaved") / "README.md").is_file(), name
