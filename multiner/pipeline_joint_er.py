"""JointErPipeline: entities and the relations between them, in texts of any length, in one line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from transformers import Pipeline

from .card_joint_er import JointErCardData, write_joint_er_card
from .pipeline_core import DEFAULT_BATCH_SIZE, check_counts, run_grouped, unknown_option
from .processing_joint_er import JointErBatch, JointErTexts
from .text_core import check_threshold

CALL_OPTIONS = ("relation_threshold", "entity_threshold", "batch_size", "num_workers")


@dataclass
class _Windows:
    """One forward pass's batch, wrapped so that `Pipeline.forward` hands it over as it is."""

    batch: JointErBatch


class JointErPipeline(Pipeline):
    """Entities and relations with a joint entity-relation model ([`JointErModel`]).

    Returns, per text, `{"entities": [...], "relations": [...]}`: entities as `{"entity_group", "score", "word",
    "start", "end"}` (character offsets, `text[start:end] == word`), sorted by start; relations as `{"type", "score",
    "head", "tail"}` where `head` and `tail` index that text's `entities` (the training format's convention).
    Everything is JSON-serialisable. Long texts are split into overlapping windows as in Multi-NER and merged back;
    a relation whose two arguments fall in no common window (far apart in a long text) is out of reach and never
    predicted.

    Call options (anything else is a TypeError): `relation_threshold` (a number in [0, 1); the model config's by
    default), `entity_threshold` (span head only), `batch_size` (texts per group and windows per forward pass,
    default 8), `num_workers`.

    Example:
        >>> from transformers import pipeline
        >>> extract = pipeline("joint-er", model="path/to/model")  # doctest: +SKIP
        >>> found = extract("Ada Lovelace lived in London.")  # doctest: +SKIP
        >>> [(r["type"], found["entities"][r["head"]]["word"], found["entities"][r["tail"]]["word"])
        ...  for r in found["relations"]]  # doctest: +SKIP
        [('Live_In', 'Ada Lovelace', 'London')]
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
                "JointErPipeline needs the JointErProcessor saved with the model: pass processor=... or a model "
                "folder that holds processor_config.json."
            )
        self.processor.check_model_config(self.model.config)
        self.tokenizer = self.processor.tokenizer

    def __call__(self, inputs, *args, **kwargs):
        """Entities and relations of a text (one dict) or of each text of a list, dataset or generator."""
        if args:
            raise TypeError(
                f"JointErPipeline takes the texts and keyword options ({', '.join(CALL_OPTIONS)}); got {len(args)} "
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
            if self.model.config.ner_head != "span":
                raise ValueError(
                    "entity_threshold applies to models with ner_head='span'; this model tags BIO with a CRF "
                    "(ner_head='bio_crf'), whose entities come from Viterbi decoding, not from a threshold."
                )
            forward["entity_threshold"] = entity_threshold
        return {}, forward, {}

    def preprocess(self, texts: list[str], indices: list[int] | None = None) -> JointErTexts:
        indices = list(range(len(texts))) if indices is None else indices
        for index, text in zip(indices, texts):
            if not isinstance(text, str):
                raise ValueError(
                    f"Input {index}: JointErPipeline takes strings (or lists of them), got {type(text).__name__}."
                )
        return self.processor.tokenize(text=texts, indices=indices, allow_empty=True)

    def _forward(
        self, windows: _Windows, relation_threshold: float | None = None, entity_threshold: float | None = None
    ) -> list[tuple]:
        outputs = self.model(**windows.batch.to(self.device), entity_threshold=entity_threshold)
        return self.processor.window_results(outputs, windows.batch, relation_threshold)

    def postprocess(self, found: tuple[JointErTexts, list]) -> list[dict]:
        texts, per_window = found
        return self.processor.results(texts, per_window)

    def get_iterator(
        self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params
    ) -> Iterator[dict]:
        """Groups of `batch_size` texts (a list shortest first, results in its order), each group's windows through
        the model `batch_size` at a time."""
        size = batch_size or DEFAULT_BATCH_SIZE
        yield from run_grouped(inputs, size, lambda texts, indices: self._run(texts, indices, size, forward_params))

    def _run(self, texts: list, indices: list[int], size: int, forward_params: dict) -> list[dict]:
        prepared = self.preprocess(texts, indices=indices)
        per_window: list = []
        if prepared.windows:
            for batch in self.processor.batches(prepared, windows_per_batch=size):
                per_window += self.forward(_Windows(batch), **forward_params)
        return self.postprocess((prepared, per_window))

    def save_pretrained(self, save_directory, card_data: JointErCardData | None = None, **kwargs) -> None:
        """One self-contained folder: model (safetensors), processor and tokenizer, the code (so it loads with
        `trust_remote_code=True` where multiner is not installed) and the model card (`README.md`)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
        write_joint_er_card(save_directory, self.model.config, self.processor, card_data)


__all__ = ["JointErPipeline"]
