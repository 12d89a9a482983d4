"""Inference throughput of MultiNerPipeline vs transformers' token-classification pipeline, same encoder.

Both read the same CoNLL-2003 development sentences (as text) at the same batch size on this machine. Multi-NER
needs a trained model for a realistic decoding cost: unless --model is given, one is trained first (2 epochs on
400 CoNLL-2003 training sentences, default queries) and kept in benchmarks/results/. The token-classification model
is the same encoder with a 9-label head (its weights do not change its cost).

    python benchmarks/pipeline_throughput.py [--sentences 1000] [--batch_size 32] [--model DIR]

Writes benchmarks/results/pipeline_throughput.json and its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    pipeline,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, small_conll_model, write_result, write_section  # noqa: E402

from multiner import default_encoder_path  # noqa: E402
from multiner.readers import read_conll  # noqa: E402

TYPES = ["PER", "LOC", "ORG", "MISC"]
RESULTS = ROOT / "benchmarks" / "results"


def sentences_per_second(run, texts: list[str], batch_size: int) -> tuple[float, int]:
    run(texts[:batch_size])  # warm-up
    start = time.perf_counter()
    outputs = run(texts)
    elapsed = time.perf_counter() - start
    return len(texts) / elapsed, sum(len(found) for found in outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()

    dev = read_conll(DATA / "conll2003" / "eng.testa")[: args.sentences]
    texts = [" ".join(example["tokens"]) for example in dev]
    model_dir = args.model or small_conll_model()

    torch.manual_seed(0)
    multi_ner = pipeline("multi-ner", model=str(model_dir), batch_size=args.batch_size)
    ours, our_entities = sentences_per_second(multi_ner, texts, args.batch_size)

    encoder = default_encoder_path()
    token_model = AutoModelForTokenClassification.from_pretrained(encoder, num_labels=9)
    token_classifier = pipeline(
        "token-classification",
        model=token_model,
        tokenizer=AutoTokenizer.from_pretrained(encoder),
        aggregation_strategy="simple",
        batch_size=args.batch_size,
    )
    theirs, _ = sentences_per_second(token_classifier, texts, args.batch_size)

    queries = multi_ner.processor.queries
    result = {
        **provenance(),
        "sentences": len(texts),
        "batch_size": args.batch_size,
        "entity_types": len(TYPES),
        "multi_ner_sentences_per_second": round(ours, 2),
        "multi_ner_entities_found": our_entities,
        "token_classification_sentences_per_second": round(theirs, 2),
        "ratio": round(ours / theirs, 3),
        "multi_ner_config": {k: multi_ner.model.config.to_dict()[k] for k in ("type_attention", "share_heads")},
        "query_tokens": {t: len(multi_ner.processor.tokenizer(q)["input_ids"]) for t, q in queries.items()},
    }
    write_result(RESULTS / "pipeline_throughput.json", result, echo=True)
    query_tokens = ", ".join(f"{name} {count}" for name, count in result["query_tokens"].items())
    write_section(
        "pipeline_throughput",
        f"""
## Pipeline throughput (issue: inference and sharing)

{result["sentences"]} CoNLL-2003 development sentences (`eng.testa`, as plain text), batch size {args.batch_size},
same encoder (all-MiniLM-L6-v2). Multi-NER: type attention "{result["multi_ner_config"]["type_attention"]}",
4 entity types with the default guideline queries ({query_tokens} tokens with [CLS]/[SEP]), so each sentence is
4 encoder sequences; token classification: 1 sequence, `aggregation_strategy="simple"`.

| pipeline | sentences/s |
|---|---|
| `pipeline("multi-ner")` (this package) | {result["multi_ner_sentences_per_second"]} |
| `pipeline("token-classification")` (transformers) | {result["token_classification_sentences_per_second"]} |
| ratio (Multi-NER / token classification) | {result["ratio"]} |

- Command: `{result["command"]}`
- Machine: {result["machine"]}
- Date: {result["date"]}
""",
    )


if __name__ == "__main__":
    main()
