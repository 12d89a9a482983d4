"""MultiNerPipeline: entities in texts of any length, in one line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from transformers import Pipeline

from .hub_cards import MultiNerCardData, write_model_card
from .pipeline_core import DEFAULT_BATCH_SIZE, check_counts, run_grouped, unknown_option
from .processing_multiner import MultiNerBatch, MultiNerTexts
from .text_core import check_threshold

CALL_OPTIONS = ("threshold", "entity_types", "flat", "batch_size", "num_workers")


@dataclass
class _Windows:
    """One forward pass's batch, wrapped so that `Pipeline.forward` hands it over as it is (a dict would be rebuilt
    without the batch's windows)."""

    batch: MultiNerBatch


class MultiNerPipeline(Pipeline):
    """Named entities with a Multi-NER (or BERT-MRC) model.

    Returns, per text, `{"entity_group", "score", "word", "start", "end"}` dicts sorted by start: character offsets
    (end exclusive, `text[start:end] == word`), scores as Python floats. Nested entities are returned unless
    `flat=True`. Texts of any length are split into overlapping windows and the entities merged back; at most
    `batch_size` windows go through the model at once, so memory does not grow with the text. Empty, whitespace-only
    and unreadable texts (no tokens) give `[]`; so does an empty list.

    Call options (anything else is a TypeError): `threshold` (a number in [0, 1), default 0.5), `entity_types` (a
    list of the model's types: only those are scored), `flat` (a bool), `batch_size` (a positive int: texts per group
    and windows per forward pass, default 8), `num_workers`.

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
        check_counts(kwargs)
        super().__init__(*args, **kwargs)
        if self.processor is None:
            raise ValueError(
                "MultiNerPipeline needs the MultiNerProcessor saved with the model: pass processor=... or a model "
                "folder that holds processor_config.json."
            )
        self.processor.check_model_config(self.model.config)
        self.tokenizer = self.processor.tokenizer

    def __call__(self, inputs, *args, **kwargs):
        """Entities of a text (a list of entity dicts) or of each text of a list, dataset or generator."""
        if args:
            raise TypeError(
                f"MultiNerPipeline takes the texts and keyword options ({', '.join(CALL_OPTIONS)}); got "
                f"{len(args)} more positional argument(s)."
            )
        check_counts(kwargs)
        if kwargs.get("batch_size") is None and self._batch_size is None:
            kwargs["batch_size"] = DEFAULT_BATCH_SIZE
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(inputs, list) and not inputs:
            self._sanitize_parameters(**{k: v for k, v in kwargs.items() if k not in ("batch_size", "num_workers")})
            return []
        if isinstance(inputs, str):
            # as a list of one, so that batch_size bounds its windows (transformers runs a single input unbatched)
            return super().__call__([inputs], **kwargs)[0]
        return super().__call__(inputs, **kwargs)

    def _sanitize_parameters(
        self,
        threshold: float | None = None,
        entity_types: list[str] | None = None,
        flat: bool | None = None,
        **unknown,
    ) -> tuple[dict, dict, dict]:
        if unknown:
            raise unknown_option("MultiNerPipeline", next(iter(unknown)), CALL_OPTIONS)
        preprocess, forward, postprocess = {}, {}, {}
        if entity_types is not None:
            preprocess["entity_types"] = self.processor.selected_types(entity_types)
        if threshold is not None:
            check_threshold(threshold)
            postprocess["threshold"] = forward["threshold"] = threshold
        if flat is not None:
            if not isinstance(flat, bool):
                raise TypeError(f"flat must be True or False, got {flat!r} ({type(flat).__name__}).")
            postprocess["flat"] = flat
        return preprocess, forward, postprocess

    def preprocess(
        self, texts: str | list[str], entity_types: list[str] | None = None, indices: list[int] | None = None
    ) -> MultiNerTexts:
        texts = [texts] if isinstance(texts, str) else list(texts)
        indices = list(range(len(texts))) if indices is None else indices
        for index, text in zip(indices, texts):
            if not isinstance(text, str):
                raise ValueError(
                    f"Input {index}: MultiNerPipeline takes strings (or lists of them), got {type(text).__name__}."
                )
        return self.processor.tokenize(text=texts, entity_types=entity_types, indices=indices, allow_empty=True)

    def _forward(self, windows: _Windows, threshold: float = 0.5) -> list[list[tuple]]:
        # Only spans whose start and end clear the threshold can be entities: the model scores just those. The
        # outputs are reduced to those spans here, so they are freed before the next pass.
        outputs = self.model(**windows.batch.to(self.device), span_threshold=threshold)
        return self.processor.window_spans(outputs, windows.batch, threshold)

    def postprocess(
        self, found: tuple[MultiNerTexts, list], threshold: float = 0.5, flat: bool = False
    ) -> list[list[dict]]:
        texts, spans = found
        return self.processor.entities(texts, spans, flat=flat)

    def get_iterator(
        self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params
    ) -> Iterator[list[dict]]:
        """Lists, datasets and generators of texts: groups of `batch_size` texts, each group's windows through the
        model `batch_size` at a time.

        A list is run shortest text first, so that a batch holds texts of similar length and little padding, and
        the results come back in the list's order; datasets and generators stream in their own order."""
        size = batch_size or DEFAULT_BATCH_SIZE
        params = (preprocess_params, forward_params, postprocess_params)
        yield from run_grouped(inputs, size, lambda texts, indices: self._run(texts, indices, size, *params))

    def _run(
        self, texts: list, indices: list[int], size: int, preprocess_params, forward_params, postprocess_params
    ) -> list[list[dict]]:
        prepared = self.preprocess(texts, indices=indices, **preprocess_params)
        spans: list = []
        if prepared.windows:
            for batch in self.processor.batches(prepared, windows_per_batch=size):
                spans += self.forward(_Windows(batch), **forward_params)
        return self.postprocess((prepared, spans), **postprocess_params)

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


__all__ = ["MultiNerPipeline"]
