"""What a ResNet is: blocks, the one ResNet class, the registry table, weights and profiles.

>>> from reslab import models
>>> net = models.create("resnet20", num_classes=10)
>>> models.list_models("plain*")[:3]
['plain20', 'plain32', 'plain44']
"""

from reslab.models import hub
from reslab.models.blocks import BasicBlock, Bottleneck, PadShortcut
from reslab.models.freeze import FrozenBatchNorm2d, freeze_stages
from reslab.models.profile import Profile, count_flops, count_params, profile
from reslab.models.registry import (
    create,
    default_num_classes,
    get_spec,
    list_models,
    register_model,
)
from reslab.models.resnet import ResNet, ResNetSpec
from reslab.models.table import ModelRow, model_table, stage_layout
from reslab.models.weights import (
    LoadReport,
    load_weights,
    read_metadata,
    read_state_dict,
    save_weights,
    unwrap,
)

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "FrozenBatchNorm2d",
    "LoadReport",
    "ModelRow",
    "PadShortcut",
    "Profile",
    "ResNet",
    "ResNetSpec",
    "count_flops",
    "count_params",
    "create",
    "default_num_classes",
    "freeze_stages",
    "get_spec",
    "hub",
    "list_models",
    "load_weights",
    "model_table",
    "profile",
    "read_metadata",
    "read_state_dict",
    "register_model",
    "save_weights",
    "stage_layout",
    "unwrap",
]
