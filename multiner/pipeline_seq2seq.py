"""Seq2SeqNerPipeline: flat, nested and discontinuous entities in texts of any length, in one line."""

from __future__ import annotations

from .card_seq2seq import Seq2SeqNerCardData, write_seq2seq_card
from .pipeline_core import CORE_OPTIONS, WindowedPipeline, Windows, unknown_option

CALL_OPTIONS = ("num_beams", "max_new_tokens", *CORE_OPTIONS)


class Seq2SeqNerPipeline(WindowedPipeline):
    """Entities, discontinuous ones included, with a seq2seq pointer model ([`Seq2SeqNerModel`]).

    Returns, per text, a list of `{"entity_group", "score", "word", "start", "end", "fragments": [{"start", "end",
    "word"}, ...]}` sorted by start: character offsets, one fragment for a contiguous entity (whose `word ==
    text[start:end]`); a discontinuous entity's `start`/`end` span its first to last fragment and its `word` joins
    the fragments' words with a space. Scores are the probability the model gave the entity's tokens (Python
    floats). Long texts are split into overlapping windows and merged back.

    Call options (anything else is a TypeError): `num_beams` (default 1: greedy), `max_new_tokens` (default the
    config's `max_target_length`), `batch_size` (texts per group and windows per generate call, default 8),
    `num_workers`, `is_split_into_words` (inputs are word lists; offsets count words).

    Example:
        >>> from transformers import pipeline
        >>> extract = pipeline("seq2seq-ner", model="path/to/model")  # doctest: +SKIP
        >>> [(e["word"], [f["word"] for f in e["fragments"]]) for e in extract("Aching in legs and shoulders.")]
        ... # doctest: +SKIP
        [('Aching in legs', ['Aching in legs']), ('Aching in shoulders', ['Aching in', 'shoulders'])]
    """

    call_options = CALL_OPTIONS
    processor_name = "Seq2SeqNerProcessor"

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

    def _forward(self, windows: Windows, **generate_options) -> list[tuple]:
        generated = self.model.generate(
            **windows.batch.to(self.device), output_scores=True, return_dict_in_generate=True, **generate_options
        )
        return self.processor.window_results(generated, windows.batch)

    def save_pretrained(self, save_directory, card_data: Seq2SeqNerCardData | None = None, **kwargs) -> None:
        """One self-contained folder: model (safetensors), processor and tokenizer, the code (so it loads with
        `trust_remote_code=True` where multiner is not installed) and the model card (`README.md`)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
        write_seq2seq_card(save_directory, self.model.config, self.processor, card_data)


__all__ = ["Seq2SeqNerPipeline"]
