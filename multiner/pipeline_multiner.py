"""MultiNerPipeline: entities in texts of any length, in one line."""

from __future__ import annotations

from .card_multiner import MultiNerCardData, write_multiner_card
from .pipeline_core import CORE_OPTIONS, WindowedPipeline, Windows, unknown_option
from .processing_multiner import MultiNerTexts

CALL_OPTIONS = ("threshold", "entity_types", "flat", *CORE_OPTIONS)


class MultiNerPipeline(WindowedPipeline):
    """Named entities with a Multi-NER (or BERT-MRC) model.

    Returns, per text, `{"entity_group", "score", "word", "start", "end"}` dicts sorted by start: character offsets
    (end exclusive, `text[start:end] == word`), scores as Python floats. Nested entities are returned unless
    `flat=True`. Texts of any length are split into overlapping windows and the entities merged back; at most
    `batch_size` windows go through the model at once, so memory does not grow with the text. Empty, whitespace-only
    and unreadable texts (no tokens) give `[]`; so does an empty list.

    Call options (anything else is a TypeError): `threshold` (a number in [0, 1); default the model's calibrated
    `config.decision_threshold`, else 0.5), `entity_types` (a list of the model's types: only those are scored),
    `flat` (a bool), `batch_size` (a positive int: texts per group and windows per forward pass, default 8),
    `num_workers`, `is_split_into_words` (inputs are word lists; offsets count words).

    Example:
        >>> from transformers import pipeline
        >>> ner = pipeline("multi-ner", model="path/to/model")  # doctest: +SKIP
        >>> ner("Ada Lovelace was born in London.")  # doctest: +SKIP
        [{'entity_group': 'PER', 'score': 0.98, 'word': 'Ada Lovelace', 'start': 0, 'end': 12}, ...]
    """

    call_options = CALL_OPTIONS
    processor_name = "MultiNerProcessor"

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
            forward["threshold"] = self.processor.decision_threshold(threshold)
        if flat is not None:
            if not isinstance(flat, bool):
                raise TypeError(f"flat must be True or False, got {flat!r} ({type(flat).__name__}).")
            postprocess["flat"] = flat
        return preprocess, forward, postprocess

    def _forward(self, windows: Windows, threshold: float | None = None) -> list[list[tuple]]:
        # Only spans whose start and end clear the threshold can be entities: the model scores just those. The
        # outputs are reduced to those spans here, so they are freed before the next pass.
        threshold = self.processor.decision_threshold(threshold)
        outputs = self.model(**windows.batch.to(self.device), span_threshold=threshold)
        return self.processor.window_results(outputs, windows.batch, threshold)

    def postprocess(self, found: tuple[MultiNerTexts, list], flat: bool = False) -> list[list[dict]]:
        texts, spans = found
        return self.processor.results(texts, spans, flat=flat)

    def save_pretrained(self, save_directory, card_data: MultiNerCardData | None = None, **kwargs) -> None:
        """One self-contained folder: model (safetensors), processor and tokenizer, the custom code (so it loads with
        `trust_remote_code=True` where multiner is not installed) and the model card (`README.md`)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
        write_multiner_card(save_directory, self.model.config, self.processor, card_data)

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
