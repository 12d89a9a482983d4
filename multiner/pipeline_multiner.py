"""MultiNerPipeline: entities in texts of any length, in one line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from transformers import Pipeline

from .hub_cards import MultiNerCardData, write_model_card
from .processing_multiner import MultiNerBatch


@dataclass
class _Chunk:
    """Texts of one forward pass: the processed batch (None when every text was empty) and which texts were."""

    size: int
    batch: MultiNerBatch | None
    non_empty: list[int] = field(default_factory=list)
    outputs: Any = None


class MultiNerPipeline(Pipeline):
    """Named entities with a Multi-NER (or BERT-MRC) model.

    Returns, per text, `{"entity_group", "score", "word", "start", "end"}` dicts sorted by start: character offsets
    (end exclusive, `text[start:end] == word`), scores as Python floats. Nested entities are returned unless
    `flat=True`. Texts of any length are split into overlapping windows and the entities merged back. Empty or
    whitespace-only texts give `[]`.

    Call options: `threshold` (default 0.5), `entity_types` (a subset: only those types' queries run), `flat`,
    `batch_size` (texts per forward pass).

    Example:
        >>> from transformers import pipeline
        >>> ner = pipeline("multi-ner", model="path/to/model")  # doctest: +SKIP
        >>> ner("Ada Lovelace was born in London.")  # doctest: +SKIP
        [{'entity_group': 'PER', 'score': 0.98, 'word': 'Ada Lovelace', 'start': 0, 'end': 12}, ...]
    """

    _load_processor = True
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.processor is None:
            raise ValueError(
                "MultiNerPipeline needs the MultiNerProcessor saved with the model: pass processor=... or a model "
                "folder that holds processor_config.json."
            )
        self.processor.check_model_config(self.model.config)
        self.tokenizer = self.processor.tokenizer

    def _sanitize_parameters(
        self,
        threshold: float | None = None,
        entity_types: list[str] | None = None,
        flat: bool | None = None,
        **kwargs,
    ) -> tuple[dict, dict, dict]:
        preprocess = {"entity_types": entity_types} if entity_types is not None else {}
        postprocess, forward = {}, {}
        if threshold is not None:
            if not 0.0 <= threshold < 1.0:
                raise ValueError(f"threshold={threshold!r} must be a probability in [0, 1).")
            postprocess["threshold"] = forward["threshold"] = threshold
        if flat is not None:
            postprocess["flat"] = flat
        return preprocess, forward, postprocess

    def preprocess(self, texts: str | list[str], entity_types: list[str] | None = None) -> _Chunk:
        texts = [texts] if isinstance(texts, str) else list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise ValueError(f"MultiNerPipeline takes strings (or lists of them), got {type(text).__name__}.")
        non_empty = [index for index, text in enumerate(texts) if text.strip()]
        batch = self.processor([texts[i] for i in non_empty], entity_types=entity_types) if non_empty else None
        return _Chunk(len(texts), batch, non_empty)

    def _forward(self, chunk: _Chunk, threshold: float = 0.5) -> _Chunk:
        if chunk.batch is not None:
            # Only spans whose start and end clear the threshold can be entities: the model scores just those.
            chunk.outputs = self.model(**chunk.batch.to(self.device), span_threshold=threshold)
        return chunk

    def postprocess(self, chunk: _Chunk, threshold: float = 0.5, flat: bool = False) -> list[list[dict]]:
        results: list[list[dict]] = [[] for _ in range(chunk.size)]
        if chunk.batch is not None:
            found = self.processor.decode(chunk.outputs, chunk.batch, threshold=threshold, flat=flat)
            for index, entities in zip(chunk.non_empty, found):
                results[index] = entities
        return results

    def run_single(self, inputs, preprocess_params, forward_params, postprocess_params):
        return self._run([inputs], preprocess_params, forward_params, postprocess_params)[0]

    def get_iterator(
        self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params
    ) -> Iterator[list[dict]]:
        """Lists, datasets and generators of texts: `batch_size` texts (all their windows) per forward pass.

        A list is run shortest text first, so that a batch holds texts of similar length and little padding, and
        the results come back in the list's order; datasets and generators stream in their own order."""
        size = max(1, batch_size or 1)
        if not isinstance(inputs, (list, tuple)):
            for texts in _chunks(inputs, size):
                yield from self._run(texts, preprocess_params, forward_params, postprocess_params)
            return
        order = sorted(
            range(len(inputs)), key=lambda index: len(inputs[index]) if isinstance(inputs[index], str) else 0
        )
        results: list[list[dict] | None] = [None] * len(inputs)
        for positions in _chunks(order, size):
            found = self._run([inputs[i] for i in positions], preprocess_params, forward_params, postprocess_params)
            for position, entities in zip(positions, found):
                results[position] = entities
        yield from results

    def _run(self, texts: list[str], preprocess_params, forward_params, postprocess_params) -> list[list[dict]]:
        chunk = self.forward(self.preprocess(texts, **preprocess_params), **forward_params)
        return self.postprocess(chunk, **postprocess_params)

    def save_pretrained(self, save_directory, card_data: MultiNerCardData | None = None, **kwargs) -> None:
        """One self-contained folder: model (safetensors), processor and tokenizer, the custom code (so it loads with
        `trust_remote_code=True` where multiner is not installed) and the model card (`README.md`)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
        write_model_card(save_directory, self.model.config, self.processor, card_data)

    def push_to_hub(self, repo_id: str, card_data: MultiNerCardData | None = None, **kwargs) -> str:
        """Upload exactly what `save_pretrained` writes to a Hub model repository (needs network and a token)."""
        import tempfile

        from huggingface_hub import HfApi

        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, card_data=card_data)
            api = HfApi(token=kwargs.pop("token", None))
            api.create_repo(repo_id, exist_ok=True, private=kwargs.pop("private", None))
            return api.upload_folder(repo_id=repo_id, folder_path=folder, **kwargs).commit_url


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


__all__ = ["MultiNerPipeline"]
