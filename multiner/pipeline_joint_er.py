"""JointErPipeline: entities and the relations between them, in texts of any length, in one line."""

from __future__ import annotations

from .card_joint_er import JointErCardData, write_joint_er_card
from .pipeline_core import CORE_OPTIONS, WindowedPipeline, Windows, unknown_option
from .text_core import check_threshold

CALL_OPTIONS = ("relation_threshold", "entity_threshold", *CORE_OPTIONS)


class JointErPipeline(WindowedPipeline):
    """Entities and relations with a joint entity-relation model ([`JointErModel`]).

    Returns, per text, `{"entities": [...], "relations": [...]}`: entities as `{"entity_group", "score", "word",
    "start", "end"}` (character offsets, `text[start:end] == word`), sorted by start; relations as `{"type", "score",
    "head", "tail"}` where `head` and `tail` index that text's `entities` (the training format's convention).
    Everything is JSON-serialisable. Long texts are split into overlapping windows as in Multi-NER and merged back;
    a relation whose two arguments fall in no common window (far apart in a long text) is out of reach and never
    predicted.

    Call options (anything else is a TypeError): `relation_threshold` (a number in [0, 1); the model config's by
    default), `entity_threshold` (span heads only), `batch_size` (texts per group and windows per forward pass,
    default 8), `num_workers`, `is_split_into_words` (inputs are word lists; offsets count words).

    Example:
        >>> from transformers import pipeline
        >>> extract = pipeline("joint-er", model="path/to/model")  # doctest: +SKIP
        >>> found = extract("Ada Lovelace lived in London.")  # doctest: +SKIP
        >>> [(r["type"], found["entities"][r["head"]]["word"], found["entities"][r["tail"]]["word"])
        ...  for r in found["relations"]]  # doctest: +SKIP
        [('Live_In', 'Ada Lovelace', 'London')]
    """

    call_options = CALL_OPTIONS
    processor_name = "JointErProcessor"

    def _sanitize_parameters(
        self, relation_threshold: float | None = None, entity_threshold: float | None = None, **unknown
    ) -> tuple[dict, dict, dict]:
        if unknown:
            raise unknown_option("JointErPipeline", next(iter(unknown)), CALL_OPTIONS)
        forward = {}
        if relation_threshold is not None:
            check_threshold(relation_threshold, "relation_threshold")
            forward["relation_threshold"] = relation_threshold
        if entity_threshold is not None:
            check_threshold(entity_threshold, "entity_threshold")
            if not self.model.config.span_entities:
                raise ValueError(
                    "entity_threshold applies to span heads (ner_head='span' or 'start_end_span'); this model tags "
                    "BIO with a CRF (ner_head='bio_crf'), whose entities come from Viterbi decoding, not from a "
                    "threshold."
                )
            forward["entity_threshold"] = entity_threshold
        return {}, forward, {}

    def _forward(
        self, windows: Windows, relation_threshold: float | None = None, entity_threshold: float | None = None
    ) -> list[tuple]:
        outputs = self.model(**windows.batch.to(self.device), entity_threshold=entity_threshold)
        return self.processor.window_results(outputs, windows.batch, relation_threshold)

    def save_pretrained(self, save_directory, card_data: JointErCardData | None = None, **kwargs) -> None:
        """One self-contained folder: model (safetensors), processor and tokenizer, the code (so it loads with
        `trust_remote_code=True` where multiner is not installed) and the model card (`README.md`)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
        write_joint_er_card(save_directory, self.model.config, self.processor, card_data)


__all__ = ["JointErPipeline"]
