"""Self-contained model folders: the code files a family's folder needs to load with `trust_remote_code=True` where
multiner is not installed, and the `custom_pipelines` entry that lets `pipeline(model=folder, trust_remote_code=True)`
find the family's pipeline offline.

transformers copies a model's and a processor's own modules (and their relative imports) when they are saved; the
pipeline module is imported by neither, so the model's `save_pretrained` copies it by name with this module.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from transformers.dynamic_module_utils import get_relative_import_files

HERE = Path(__file__).resolve().parent


def find_code_folder(module_name: str, folders: list[str | Path | None]) -> Path | None:
    """The first of `folders` (then this package's own folder) that holds `module_name`, or None.

    A model loaded with `trust_remote_code` runs from transformers' module cache, which holds only the files its own
    class imports; the model folder it came from (`config._name_or_path`) still holds the rest."""
    for folder in [HERE, *folders]:
        if folder and (Path(folder) / module_name).is_file():
            return Path(folder)
    return None


def code_files(module_names: list[str], folder: Path = HERE) -> list[Path]:
    """The files of `module_names` (e.g. `["pipeline_multiner.py"]`) in `folder` and of everything they import
    relatively, transitively. (Only Python modules travel: transformers' module cache holds no data files.)"""
    files: dict[Path, None] = {}
    for name in module_names:
        path = Path(folder) / name
        for found in [path, *(Path(file) for file in get_relative_import_files(str(path)))]:
            files[found] = None
    return list(files)


def copy_code_files(save_directory: str | Path, module_names: list[str], folder: Path = HERE) -> list[Path]:
    """Copy `code_files(module_names, folder)` into `save_directory`; returns the copies."""
    target_folder = Path(save_directory)
    target_folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in code_files(module_names, folder):
        target = target_folder / path.name
        if path.resolve() != target.resolve():
            shutil.copyfile(path, target)
        copies.append(target)
    return copies


def save_with_pipeline_code(
    model, save, save_directory, pipeline_module: str, pipeline_class: str, task: str, *args, **kwargs
) -> None:
    """Save a model with `save` (its `PreTrainedModel.save_pretrained`), plus what makes the folder a pipeline where
    multiner is not installed: the pipeline's code (and the files it imports) beside the model's, and
    `custom_pipelines` in `config.json` under `task`, so that `pipeline(model=folder, trust_remote_code=True)` finds
    it offline. Where the pipeline code cannot be found the folder still loads as a model, with a warning."""
    code_folder = find_code_folder(pipeline_module, [getattr(model.config, "_name_or_path", None)])
    if code_folder is None:
        warnings.warn(
            f"{pipeline_module} is neither installed nor in the folder this model came from: the saved folder "
            "loads with AutoModel / AutoProcessor but not with pipeline(model=folder, trust_remote_code=True).",
            stacklevel=3,
        )
    else:
        model.config.custom_pipelines = custom_pipeline_entry(task, pipeline_module, pipeline_class)
    save(save_directory, *args, **kwargs)
    if code_folder is not None and kwargs.get("is_main_process", True):
        copy_code_files(save_directory, [pipeline_module], code_folder)


class SavesPipelineCode:
    """Mixed into a family's `PreTrainedModel` (before it): `save_pretrained` also writes the pipeline's code and
    `custom_pipelines` (`save_with_pipeline_code`), so that `pipeline(model=folder, trust_remote_code=True)` works
    where multiner is not installed. The family names its pipeline module, class and remote task."""

    pipeline_module: str
    pipeline_class: str
    remote_task: str

    def save_pretrained(self, save_directory, *args, **kwargs) -> None:
        save_with_pipeline_code(
            self,
            super().save_pretrained,
            save_directory,
            self.pipeline_module,
            self.pipeline_class,
            self.remote_task,
            *args,
            **kwargs,
        )


def custom_pipeline_entry(task: str, module_name: str, class_name: str, auto_class: str = "AutoModel") -> dict:
    """The `config.custom_pipelines` value that `Pipeline.save_pretrained` would write for one task."""
    return {task: {"impl": f"{Path(module_name).stem}.{class_name}", "pt": [auto_class], "type": "text"}}


__all__ = [
    "SavesPipelineCode",
    "code_files",
    "copy_code_files",
    "custom_pipeline_entry",
    "find_code_folder",
    "save_with_pipeline_code",
]
