"""multiner: named entity recognition as machine reading comprehension (Multi-NER, BERT-MRC), HuggingFace-native."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from .configuration_multiner import BERT_MRC, MultiNerConfig, default_encoder_path
from .data_collator import MultiNerDataCollator
from .modeling_multiner import MultiNerModel, MultiNerOutput, MultiNerPreTrainedModel
from .processing_multiner import MultiNerBatch, MultiNerProcessor, UnrepresentableEntityWarning, default_query

__version__ = "0.1.0"

AutoConfig.register(MultiNerConfig.model_type, MultiNerConfig, exist_ok=True)
AutoModel.register(MultiNerConfig, MultiNerModel, exist_ok=True)
AutoProcessor.register(MultiNerConfig, MultiNerProcessor, exist_ok=True)

__all__ = [
    "BERT_MRC",
    "MultiNerBatch",
    "MultiNerConfig",
    "MultiNerDataCollator",
    "MultiNerModel",
    "MultiNerOutput",
    "MultiNerPreTrainedModel",
    "MultiNerProcessor",
    "UnrepresentableEntityWarning",
    "default_encoder_path",
    "default_query",
]
