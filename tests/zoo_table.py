"""The zoo table of the issue: figures measured with PyTorch and torchvision.

``params`` is ``sum(p.numel() for p in model.parameters())``, ``MACs`` the conv and linear
multiply-accumulates without bias, ``RF`` the receptive field of the last spatial feature map
from a gradient probe (``None``: the whole input, through squeeze-excitation).
"""

from __future__ import annotations

from functools import cache

import cnncalc
from cnncalc.report import Report

IMG = (3, 224, 224)

# name, input, params, MACs, RF of the last spatial map, the layer that map comes from
ZOO = [
    ("vgg11", IMG, 132_863_336, 7_609_090_048, 150, "avgpool"),
    ("vgg16_bn", IMG, 138_365_992, 15_470_264_320, 212, "avgpool"),
    ("vgg19", IMG, 143_667_240, 19_632_062_464, 268, "avgpool"),
    ("resnet18", IMG, 11_689_512, 1_814_073_344, 435, "layer4.1.relu"),
    ("resnet34", IMG, 21_797_672, 3_663_761_408, 899, "layer4.2.relu"),
    ("resnet50", IMG, 25_557_032, 4_089_184_256, 427, "layer4.2.relu"),
    ("resnet101", IMG, 44_549_160, 7_801_405_440, 971, "layer4.2.relu"),
    ("resnet152", IMG, 60_192_808, 11_513_626_624, 1451, "layer4.2.relu"),
    ("resnext50_32x4d", IMG, 25_028_904, 4_230_479_872, 427, "layer4.2.relu"),
    ("wide_resnet50_2", IMG, 68_883_240, 11_398_021_120, 427, "layer4.2.relu"),
    ("squeezenet1_0", IMG, 1_248_424, 818_924_576, 155, "classifier.2"),
    ("squeezenet1_1", IMG, 1_235_496, 349_151_936, 207, "classifier.2"),
    ("densenet121", IMG, 7_978_856, 2_834_161_664, 2071, "relu"),
    ("googlenet", IMG, 6_624_904, 1_498_376_192, 379, "inception5b.cat"),
    ("inception_v3", (3, 299, 299), 23_834_568, 5_713_216_096, 1311, "Mixed_7c.cat"),
    ("mobilenet_v2", IMG, 3_504_872, 300_774_272, 491, "features.18.2"),
    ("mobilenet_v3_small", IMG, 2_542_856, 56_510_400, None, "features.12.2"),
    ("mobilenet_v3_large", IMG, 5_483_032, 216_589_760, None, "features.16.2"),
    ("shufflenet_v2_x1_0", IMG, 2_278_604, 144_907_992, 527, "conv5.2"),
    ("mnasnet1_0", IMG, 4_383_312, 314_415_872, 843, "layers.16"),
    ("efficientnet_b0", IMG, 5_288_548, 385_814_752, None, "features.8.2"),
    ("regnet_y_400mf", IMG, 4_344_144, 401_842_848, None, "trunk_output.block4.block4-5.activation"),
    ("convnext_tiny", IMG, 28_589_128, 4_455_531_264, 1688, "features.7.2.add"),
]
ZOO_NAMES = [z[0] for z in ZOO]


@cache
def report(name: str) -> Report:
    """Each bundled network is analysed once per test session."""
    return cnncalc.analyse(cnncalc.load(name))
