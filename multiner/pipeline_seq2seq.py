"""Seq2SeqNerPipeline: flat, nested and discontinuous entities in texts of any length, in one line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from transformers import Pipeline

from .card_seq2seq import Seq2SeqNerCardData, write_seq2seq_card
from .pipeline_core import DEFAULT_BATCH_SIZE, check_counts, run_grouped, unknown_option
from .processing_seq2seq import Seq2SeqNerBatch, Seq2SeqNerTexts

CALL_OPTIONS = ("num_beams", "max_new_tokens", "batch_size", "num_workers")


@dataclass
class _Windows:
    """One generate call's batch, wrapped so that `Pipeline.forward` hands it over as it is."""

    batch: Seq2SeqNerBatch


class Seq2SeqNerPipeline(Pipeline):
    """Entities, discontinuous ones included, with a seq2seq pointer model ([`Seq2SeqNerModel`]).

    Returns, per text, a list of `{"entity_group", "score", "word", "start", "end", "fragments": [{"start", "end",
    "word"}, ...]}` sorted by start: character offsets, one fragment for a contiguous entity (whose `word ==
    text[start:end]`); a discontinuous entity's `start`/`end` span its first to last fragment and its `word` joins
    the fragments' words with a space. Scores are the probability the model gave the entity's tokens (Python
    floats). Long texts are split into overlapping windows and merged back.

    Call options (anything else is a TypeError): `num_beams` (default 1: greedy), `max_new_tokens` (default the
    config's `max_target_length`), `batch_size` (texts per group and windows per generate call, default 8),
    `num_workers`.

    Example:
        >>> from transformers import pipeline
        >>> extract = pipeline("seq2seq-ner", model="path/to/model")  # doctest: +SKIP
        >>> [(e["word"], [f["word"] for f in e["fragments"]]) for e in extract("Aching in legs and shoulders.")]
        ... # doctest: +SKIP
        [('Aching in legs', ['Aching in legs']), ('Aching in shoulders', ['Aching in', 'shoulders'])]
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
                "Seq2SeqNerPipeline needs the Seq2SeqNerProcessor saved with the model: pass processor=... or a "
                "model folder that holds processor_config.json."
            )
        self.processor.check_model_config(self.model.config)
        self.tokenizer = self.processor.tokenizer

    def __call__(self, inputs, *args, **kwargs):
        """Entities of a text (one list) or of each text of a list, dataset or generator."""
        if args:
            raise TypeError(
                f"Seq2SeqNerPipeline takes the texts and keyword options ({', '.join(CALL_OPTIONS)}); got {len(args)} "
                "more positional argument(s)."
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
            return super().__call__([inputs], **kwargs)[0]
        return super().__call__(inputs, **kwargs)

    def _sanitize_parameters(
        self, num_beams: int | None = None, max_new_tokens: int | None = None, **unknown
    ) -> tuple[dict, dict, dict]:
        if unknown:
            raise unknown_option("Seq2SeqNerPipeline", next(iter(unknown)), CALL_OPTIONS)
        forward = {}
        for name, value in (("num_beams", num_beams), ("max_new_tokens", max_new_tokens)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer.")
            forward[name] = value
        return {}, forward, {}

    def preprocess(self, texts: list[str], indices: list[int] | None = None) -> Seq2SeqNerTexts:
        indices = list(range(len(texts))) if indices is None else indices
        for index, text in zip(indices, texts):
            if not isinstance(text, str):
                raise ValueError(
                    f"Input {index}: Seq2SeqNerPipeline takes strings (or lists of them), got {type(text).__name__}."
                )
        return self.processor.tokenize(text=texts, indices=indices, allow_empty=True)

    def _forward(self, windows: _Windows, **generate_options) -> list[tuple]:
        generated = self.model.generate(
            **windows.batch.to(self.device), output_scores=True, return_dict_in_generate=True, **generate_options
        )
        return self.processor.window_results(generated, windows.batch)

    def postprocess(self, found: tuple[Seq2SeqNerTexts, list]) -> list[list[dict]]:
        texts, per_window = found
        return self.processor.results(texts, per_window)

    def get_iterator(
        self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params
    ) -> Iterator[list[dict]]:
        """Groups of `batch_size` texts (a list shortest first, results in its order), each group's windows through
        `generate` `batch_size` at a time."""
        size = batch_size or DEFAULT_BATCH_SIZE
        yield from run_grouped(inputs, size, lambda texts, indices: self._run(texts, indices, size, forward_params))

    def _run(self, texts: list, indices: list[int], size: int, forward_params: dict) -> list[list[dict]]:
        prepared = self.preprocess(texts, indices=indices)
        per_window: list = []
        if prepared.windows:
            for batch in self.processor.batches(prepared, windows_per_batch=size):
                per_window += self.forward(_Windows(batch), **forward_params)
        return self.postprocess((prepared, per_window))

    def save_pretrained(self, save_directory, card_data: Seq2SeqNerCardData | None = None, **kwargs) -> None:
        """One self-contained folder: model (safetensors), processor and tokenizer, the code (so it loads with
        `trust_remote_code=True` where multiner is not installed) and the model card (`README.md`)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
        write_seq2seq_card(save_directory, self.model.config, self.processor, card_data)


__all__ = ["Seq2SeqNerPipeline"]
