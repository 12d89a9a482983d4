"""multiner: multi-task named entity recognition, HuggingFace-native: Multi-NER (and BERT-MRC) for flat and nested
entities, joint entity and relation extraction with deeper task-specificity, and a seq2seq pointer model for flat,
nested and discontinuous entities."""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM, AutoModelForTokenClassification, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from .card_joint_er import JointErCardData, generate_joint_er_card, write_joint_er_card
from .card_multiner import MultiNerCardData, generate_multiner_card, write_multiner_card
from .card_seq2seq import Seq2SeqNerCardData, generate_seq2seq_card, write_seq2seq_card
from .configuration_joint_er import ABLATIONS, JOINT_ER_TASK, JointErConfig
from .configuration_multiner import BERT_MRC, MULTINER_TASK, MultiNerConfig
from .configuration_seq2seq import SEQ2SEQ_TASK, Seq2SeqNerConfig
from .data_collator_joint_er import JointErDataCollator
from .data_collator_multiner import MultiNerDataCollator
from .data_collator_seq2seq import Seq2SeqNerDataCollator
from .encoders import default_encoder_path
from .modeling_joint_er import JointErModel, JointErOutput, JointErPreTrainedModel
from .modeling_multiner import MultiNerModel, MultiNerOutput, MultiNerPreTrainedModel, SpanCandidatesCappedWarning
from .modeling_seq2seq import PointerEncoderOutput, Seq2SeqNerModel, Seq2SeqNerOutput, Seq2SeqNerPreTrainedModel
from .pipeline_joint_er import JointErPipeline
from .pipeline_multiner import MultiNerPipeline
from .pipeline_seq2seq import Seq2SeqNerPipeline
from .processing_joint_er import JointErBatch, JointErProcessor
from .processing_multiner import MultiNerBatch, MultiNerProcessor, default_query
from .processing_seq2seq import LostOutputWarning, Seq2SeqNerBatch, Seq2SeqNerProcessor
from .targets_seq2seq import PointerConstraintLogitsProcessor
from .text_core import UnrepresentableEntityWarning
from .training_multiner import MultiNerCalibrationCallback, MultiNerCardCallback, calibrate_threshold

__version__ = "0.6.3"

# Saved folders carry `auto_map` and these modules, so they also load with trust_remote_code=True and no multiner.
MultiNerConfig.register_for_auto_class()
MultiNerModel.register_for_auto_class("AutoModel")
MultiNerProcessor.register_for_auto_class("AutoProcessor")

AutoConfig.register(MultiNerConfig.model_type, MultiNerConfig, exist_ok=True)
AutoModel.register(MultiNerConfig, MultiNerModel, exist_ok=True)
AutoProcessor.register(MultiNerConfig, MultiNerProcessor, exist_ok=True)
# Also a token-classification model, so that pipeline("ner", model=folder, pipeline_class=MultiNerPipeline) loads it.
AutoModelForTokenClassification.register(MultiNerConfig, MultiNerModel, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(MULTINER_TASK, pipeline_class=MultiNerPipeline, pt_model=AutoModel, type="text")

JointErConfig.register_for_auto_class()
JointErModel.register_for_auto_class("AutoModel")
JointErProcessor.register_for_auto_class("AutoProcessor")
AutoConfig.register(JointErConfig.model_type, JointErConfig, exist_ok=True)
AutoModel.register(JointErConfig, JointErModel, exist_ok=True)
AutoProcessor.register(JointErConfig, JointErProcessor, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(JOINT_ER_TASK, pipeline_class=JointErPipeline, pt_model=AutoModel, type="text")

Seq2SeqNerConfig.register_for_auto_class()
Seq2SeqNerModel.register_for_auto_class("AutoModel")
Seq2SeqNerProcessor.register_for_auto_class("AutoProcessor")
AutoConfig.register(Seq2SeqNerConfig.model_type, Seq2SeqNerConfig, exist_ok=True)
AutoModel.register(Seq2SeqNerConfig, Seq2SeqNerModel, exist_ok=True)
AutoModelForSeq2SeqLM.register(Seq2SeqNerConfig, Seq2SeqNerModel, exist_ok=True)
AutoProcessor.register(Seq2SeqNerConfig, Seq2SeqNerProcessor, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(SEQ2SEQ_TASK, pipeline_class=Seq2SeqNerPipeline, pt_model=AutoModel, type="text")

__all__ = [
    "ABLATIONS",
    "BERT_MRC",
    "JOINT_ER_TASK",
    "JointErBatch",
    "JointErCardData",
    "JointErConfig",
    "JointErDataCollator",
    "JointErModel",
    "JointErOutput",
    "JointErPipeline",
    "JointErPreTrainedModel",
    "JointErProcessor",
    "MultiNerCalibrationCallback",
    "MultiNerCardCallback",
    "MultiNerCardData",
    "MultiNerBatch",
    "MultiNerConfig",
    "MultiNerDataCollator",
    "MultiNerModel",
    "MultiNerOutput",
    "MultiNerPipeline",
    "MultiNerPreTrainedModel",
    "MULTINER_TASK",
    "PointerConstraintLogitsProcessor",
    "PointerEncoderOutput",
    "SEQ2SEQ_TASK",
    "Seq2SeqNerBatch",
    "Seq2SeqNerCardData",
    "Seq2SeqNerConfig",
    "Seq2SeqNerDataCollator",
    "Seq2SeqNerModel",
    "Seq2SeqNerOutput",
    "Seq2SeqNerPipeline",
    "Seq2SeqNerPreTrainedModel",
    "Seq2SeqNerProcessor",
    "MultiNerProcessor",
    "LostOutputWarning",
    "SpanCandidatesCappedWarning",
    "UnrepresentableEntityWarning",
    "calibrate_threshold",
    "default_encoder_path",
    "default_query",
    "generate_joint_er_card",
    "generate_multiner_card",
    "generate_seq2seq_card",
    "write_joint_er_card",
    "write_multiner_card",
    "write_seq2seq_card",
]
