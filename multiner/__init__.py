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

__version__ = "0.8.2"


def _register_family(task, config_class, model_class, processor_class, pipeline_class, also_as=()) -> None:
    """Register a family with the Auto classes (and `also_as`, further Auto model classes) and its pipeline task."""
    # Saved folders carry `auto_map` and these modules, so they also load with trust_remote_code=True and no multiner.
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModel")
    processor_class.register_for_auto_class("AutoProcessor")
    AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
    AutoProcessor.register(config_class, processor_class, exist_ok=True)
    for auto_class in (AutoModel, *also_as):
        auto_class.register(config_class, model_class, exist_ok=True)
    PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=AutoModel, type="text")


# Multi-NER is a token-classification model too, so that pipeline("ner", model=folder, pipeline_class=MultiNerPipeline)
# loads it; the seq2seq model is a seq2seq LM.
_register_family(
    MULTINER_TASK,
    MultiNerConfig,
    MultiNerModel,
    MultiNerProcessor,
    MultiNerPipeline,
    [AutoModelForTokenClassification],
)
_register_family(JOINT_ER_TASK, JointErConfig, JointErModel, JointErProcessor, JointErPipeline)
_register_family(
    SEQ2SEQ_TASK, Seq2SeqNerConfig, Seq2SeqNerModel, Seq2SeqNerProcessor, Seq2SeqNerPipeline, [AutoModelForSeq2SeqLM]
)

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
