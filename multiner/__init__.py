"""multiner: named entity recognition as machine reading comprehension (Multi-NER, BERT-MRC), HuggingFace-native."""

from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_multiner import BERT_MRC, PIPELINE_TASK, MultiNerConfig, default_encoder_path
from .data_collator_multiner import MultiNerDataCollator
from .hub_cards import MultiNerCardCallback, MultiNerCardData, generate_model_card, write_model_card
from .modeling_multiner import MultiNerModel, MultiNerOutput, MultiNerPreTrainedModel
from .pipeline_multiner import MultiNerPipeline
from .processing_multiner import MultiNerBatch, MultiNerProcessor, default_query
from .text_core import UnrepresentableEntityWarning

__version__ = "0.1.0"

# Saved folders carry `auto_map` and these modules, so they also load with trust_remote_code=True and no multiner.
MultiNerConfig.register_for_auto_class()
MultiNerModel.register_for_auto_class("AutoModel")
MultiNerProcessor.register_for_auto_class("AutoProcessor")

AutoConfig.register(MultiNerConfig.model_type, MultiNerConfig, exist_ok=True)
AutoModel.register(MultiNerConfig, MultiNerModel, exist_ok=True)
AutoProcessor.register(MultiNerConfig, MultiNerProcessor, exist_ok=True)
# Also a token-classification model, so that pipeline("ner", model=folder, pipeline_class=MultiNerPipeline) loads it.
AutoModelForTokenClassification.register(MultiNerConfig, MultiNerModel, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(PIPELINE_TASK, pipeline_class=MultiNerPipeline, pt_model=AutoModel, type="text")

__all__ = [
    "BERT_MRC",
    "MultiNerCardCallback",
    "MultiNerCardData",
    "MultiNerBatch",
    "MultiNerConfig",
    "MultiNerDataCollator",
    "MultiNerModel",
    "MultiNerOutput",
    "MultiNerPipeline",
    "MultiNerPreTrainedModel",
    "PIPELINE_TASK",
    "MultiNerProcessor",
    "UnrepresentableEntityWarning",
    "default_encoder_path",
    "default_query",
    "generate_model_card",
    "write_model_card",
]
