"""The real models ``cnncalc import`` is checked on: torchvision's and timm's, each at its own input size.

``MODELS`` maps a key (``tv:resnet50``, ``tv-seg:fcn_resnet50``, ``tv-det:fasterrcnn_resnet50_fpn``,
``timm:resnest14d``) to a zero-argument factory and the input shape without the batch. Factories
never ask for pretrained weights (``weights=None``, ``pretrained=False``) and import torchvision
and timm only when called, so that listing the keys costs nothing. torchvision's input size is
the crop size of the model's default weights' transforms (read from the enum, nothing is
downloaded); timm's is its pretrained config's ``input_size``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

Factory = Callable[[], nn.Module]

#: torchvision classification models: the extra arguments that make the eval-mode model the whole
#: model (GoogLeNet and Inception v3 build auxiliary heads by default, used only in training).
TV_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}

#: torchvision segmentation models, whole (``out`` only: no auxiliary classifier) and their backbones.
TV_SEGMENTATION = ["deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50", "fcn_resnet50", "lraspp_mobilenet_v3_large"]
#: torchvision detection models: their backbones (the CNN parts, with FPN where they have one).
TV_DETECTION = ["fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "retinanet_resnet50_fpn",
                "fcos_resnet50_fpn", "ssd300_vgg16", "ssdlite320_mobilenet_v3_large", "keypointrcnn_resnet50_fpn"]
#: detection inputs: 800 x 800 (the transform's min_size); SSD and SSDlite their own fixed sizes
TV_DETECTION_SHAPES = {"ssd300_vgg16": (3, 300, 300), "ssdlite320_mobilenet_v3_large": (3, 320, 320)}

#: timm models: one or more of each family the importer must cover (see issue 15).
TIMM = [
    "resnet50", "resnet18d", "resnet26t", "resnetaa50", "resnetrs50", "resnetblur18", "resnest14d", "resnest50d",
    "res2net50_26w_4s", "res2next50",
    "skresnet18", "skresnext50_32x4d", "seresnet50", "seresnext26d_32x4d", "ecaresnet50d", "ecaresnet26t",
    "gcresnet33ts", "bat_resnext26ts",
    "efficientnet_b0", "efficientnet_b3", "tf_efficientnet_b0", "efficientnetv2_rw_s", "tinynet_a", "mixnet_s",
    "mixnet_m", "tf_mixnet_s",
    "mobilenetv3_large_100", "mobilenetv3_small_100", "mobilenetv4_conv_small", "hardcorenas_a", "fbnetc_100",
    "mnasnet_100", "lcnet_050",
    "ghostnet_100", "ghostnetv2_100", "regnety_008", "regnetx_002", "regnetz_b16", "convnext_atto", "convnext_tiny",
    "convnextv2_atto",
    "nfnet_l0", "dm_nfnet_f0", "nf_resnet26", "nf_regnet_b0", "eca_nfnet_l0", "nfnet_f0", "resnetv2_50x1_bit",
    "dla34", "dla46x_c", "dpn68", "dpn68b",
    "densenet121",
    "cspresnet50", "cspdarknet53", "cspresnext50", "cs3darknet_s", "darknet53", "rexnet_100", "rexnetr_100",
    "hrnet_w18_small", "hrnet_w18_small_v2",
    "vgg11", "vgg16_bn", "xception41", "legacy_xception", "inception_v3", "inception_v4", "inception_resnet_v2",
    "gernet_s", "repvgg_a0",
    "selecsls42b", "tresnet_m", "ese_vovnet19b_dw", "vovnet39a", "mobileone_s0", "repvit_m0_9", "inception_next_tiny",
    "botnet26t_256", "sebotnet33ts_256", "halonet26t", "eca_halonext26ts", "haloregnetz_b", "lambda_resnet26t",
    "lambda_resnet26rpt_256",
    "mobilevit_xxs", "mobilevitv2_050", "efficientvit_b0", "efficientvit_m0", "efficientformer_l1",
    "edgenext_xx_small", "fastvit_t8",
    "levit_128s", "poolformer_s12", "coatnet_nano_rw_224", "maxvit_nano_rw_256", "tiny_vit_5m_224",
    "vit_tiny_patch16_224",
    # more families: MobileNetV1, EdgeTPU, FBNetV3, EfficientNet-X, GroupNorm EfficientNet, TF-'same' at 260,
    # RepGhost, CSPNeXt, the Focus (space-to-depth) stem, legacy SE-ResNeXt, pre-activation ResNetV2 and
    # RegNetV, ConvMixer, HGNet, RDNet, StarNet's star product, FasterNet's partial convolution
    "mobilenetv1_100", "mobilenet_edgetpu_v2_xs", "fbnetv3_b", "efficientnet_x_b3", "efficientnet_b0_gn",
    "tf_efficientnet_b2", "repghostnet_050", "cspnext_tiny", "cs3darknet_focus_s", "legacy_seresnext26_32x4d",
    "resnetv2_50d_gn", "regnetv_040", "convmixer_768_32", "hgnet_tiny", "rdnet_tiny", "starnet_s1", "fasternet_t0",
    # and their failures: TF-'same' max pooling, CondConv, EvoNorm, SimpleNorm, FilterResponseNorm, a learnable
    # scalar affine, StarReLU, GroupNorm without a bias, a branch nothing reads (DLA), an attention stage (CPU bone)
    "nasnetalarge", "efficientnet_cc_b0_4e", "regnetz_c16_evos", "convnext_zepto_rms", "resnetv2_50d_frn",
    "hgnetv2_b0", "convformer_s18", "poolformerv2_s12", "dla102", "cpubone_s0",
]


class Out(nn.Module):
    """A segmentation model's ``out`` map (torchvision returns ``{"out": ...}``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Any) -> Any:
        return self.model(x)["out"]


def _torchvision(name: str) -> Factory:
    def make() -> nn.Module:
        import torchvision

        return torchvision.models.get_model(name, weights=None, **TV_KWARGS.get(name, {}))

    return make


#: torchvision models whose default weights set another input size than the model built without them
#: (ViT-H/14's default weights are SWAG's, at 518; the model alone takes 224)
TV_SHAPES = {"vit_h_14": (3, 224, 224)}


def _tv_input(name: str) -> tuple[int, ...]:
    import torchvision

    if name in TV_SHAPES:
        return TV_SHAPES[name]
    crop = torchvision.models.get_model_weights(name).DEFAULT.transforms.keywords["crop_size"]
    return (3, crop, crop)


def _segmentation(name: str, part: str) -> Factory:
    def make() -> nn.Module:
        import torchvision

        model = torchvision.models.get_model(name, weights=None, weights_backbone=None, aux_loss=False)
        return model.backbone if part == "backbone" else Out(model)

    return make


def _detection(name: str) -> Factory:
    def make() -> nn.Module:
        import torchvision

        return torchvision.models.get_model(name, weights=None, weights_backbone=None).backbone

    return make


def _timm(name: str) -> Factory:
    def make() -> nn.Module:
        import timm

        return timm.create_model(name, pretrained=False)

    return make


def torchvision_models() -> dict[str, tuple[Factory, tuple[int, ...]]]:
    """Every torchvision classification model, and the segmentation and detection ones above."""
    import torchvision

    found: dict[str, tuple[Factory, tuple[int, ...]]] = {}
    for name in torchvision.models.list_models(module=torchvision.models):
        found[f"tv:{name}"] = (_torchvision(name), _tv_input(name))
    for name in TV_SEGMENTATION:
        found[f"tv-seg:{name}"] = (_segmentation(name, "whole"), (3, 520, 520))
        found[f"tv-seg:{name}.backbone"] = (_segmentation(name, "backbone"), (3, 520, 520))
    for name in TV_DETECTION:
        found[f"tv-det:{name}.backbone"] = (_detection(name), TV_DETECTION_SHAPES.get(name, (3, 800, 800)))
    return found


def timm_models() -> dict[str, tuple[Factory, tuple[int, ...]]]:
    """The timm models above, each at its pretrained config's input size."""
    import timm

    return {f"timm:{name}": (_timm(name), tuple(timm.get_pretrained_cfg(name).input_size)) for name in TIMM}


def build(key: str) -> nn.Module:
    """The model of ``key`` (for ``cnncalc import tests/import/zoo_models.py:build --kwargs '{"key": ...}'``)."""
    source = torchvision_models() if key.startswith("tv") else timm_models()
    make, _ = source[key]
    return make()
