"""Reference CNNs written in plain PyTorch, used to cross-check ``cnncalc``.

Every network here is built with ``torch.nn`` only (torchvision is *not*
required).  The torchvision "zoo" models reproduce the torchvision
architectures exactly (``weights=None``, eval mode, auxiliary heads off) and use
the same module attribute names, so ``named_modules()`` yields the same names
as torchvision does (``layer1.0.downsample.0``, ``features.3.block.1.fc1`` ...).
Modules that torchvision applies functionally (e.g. the ReLU inside GoogLeNet /
Inception's ``BasicConv2d`` or the pools inside the Inception blocks) are
applied functionally here as well, so they do not appear as modules.

Public API
----------
``BUILDERS``
    ``name -> (zero-argument builder, input shape without batch)``.
``conv_linear_macs(model, input_shape)``
    multiply-accumulates of convolution (incl. transposed) and linear layers,
    bias excluded, at batch 1 (``macs_by_module``: the same per leaf module).
``output_shapes(model, input_shape)``
    leaf module name -> output shape without batch.

Running ``python tests/torch_reference.py`` prints params, float buffer values,
MACs and the final output shape of every network.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# --------------------------------------------------------------------------
# measurement helpers
# --------------------------------------------------------------------------

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _run_with_hooks(model: nn.Module, input_shape: Sequence[int], hook_for) -> None:
    """Run ``model`` (eval, no_grad) on a zero batch-1 input with forward hooks.

    ``hook_for(name, module)`` returns a hook function or ``None``; hooks are
    registered on leaf modules only and removed afterwards.
    """
    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue
        hook = hook_for(name, module)
        if hook is not None:
            handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    # the input lives where the weights do: a model built under torch.device("meta") is only
    # traced for shapes, without computing anything
    device = next(model.parameters(), torch.empty(0)).device  # no parameters: the default device
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def conv_linear_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """MACs of conv / conv-transpose / linear layers (bias excluded), batch 1.

    conv:           out.numel() * (in_channels / groups) * prod(kernel_size)
    conv-transpose: in.numel()  * (out_channels / groups) * prod(kernel_size)
    linear:         out.numel() * in_features
    matmul:         out.numel() * a.shape[-1]  (the export's Matmul module; torchvision's '_ops' of
                    vit_b_16, 17.564 G, include the attention products)
    """
    return sum(macs_by_module(model, input_shape).values())


def macs_by_module(model: nn.Module, input_shape: Sequence[int]) -> dict[str, int]:
    """Leaf module name -> its conv / conv-transpose / linear / matmul MACs (formulas above), batch 1."""
    macs: dict[str, int] = {}

    def add(name, n):
        macs[name] = macs.get(name, 0) + n

    def hook_for(name, module):
        if isinstance(module, _CONV):
            def hook(m, inp, out):
                add(name, out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size))
            return hook
        if isinstance(module, _CONV_T):
            def hook(m, inp, out):
                add(name, inp[0].numel() * (m.out_channels // m.groups) * math.prod(m.kernel_size))
            return hook
        if isinstance(module, nn.Linear):
            def hook(m, inp, out):
                add(name, out.numel() * m.in_features)
            return hook
        if type(module).__name__ == "Matmul":
            def hook(m, inp, out):
                add(name, out.numel() * inp[0].shape[-1])  # k products for each output entry
            return hook
        return None

    _run_with_hooks(model, input_shape, hook_for)
    return macs


def output_shapes(model: nn.Module, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Leaf module name -> output shape without the batch dimension.

    A module called several times (e.g. ResNet's shared ``relu``) keeps the
    shape of its last call.
    """
    shapes: dict[str, tuple[int, ...]] = {}

    def hook_for(name, _module):
        def hook(m, inp, out):
            shapes[name] = tuple(out.shape[1:])
        return hook

    _run_with_hooks(model, input_shape, hook_for)
    return shapes


def count_params(model: nn.Module) -> int:
    """Sum of ``numel`` over all parameters."""
    return sum(p.numel() for p in model.parameters())


def count_float_buffers(model: nn.Module) -> int:
    """Sum of ``numel`` over floating-point buffers (BN running stats; not
    ``num_batches_tracked``)."""
    return sum(b.numel() for b in model.buffers() if b.is_floating_point())


# --------------------------------------------------------------------------
# small building blocks shared by several torchvision models
# --------------------------------------------------------------------------


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's channel rounding: nearest multiple of ``divisor``, never
    going down by more than 10%."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvNormAct(nn.Sequential):
    """torchvision's ``Conv2dNormActivation``: children ``0`` conv, ``1`` norm,
    ``2`` activation (each optional except the conv).

    padding defaults to ``(k - 1) // 2 * dilation``; the conv has a bias only
    when there is no norm layer (unless ``bias`` is given).
    """

    def __init__(self, cin: int, cout: int, k: int = 3, s: int = 1, *, p: int | None = None,
                 groups: int = 1, dilation: int = 1,
                 norm: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
                 act: Callable[..., nn.Module] | None = nn.ReLU, bias: bool | None = None):
        if p is None:
            p = (k - 1) // 2 * dilation
        if bias is None:
            bias = norm is None
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, p, dilation=dilation, groups=groups, bias=bias)]
        if norm is not None:
            layers.append(norm(cout))
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation: avgpool -> fc1 (1x1 conv, bias) ->
    activation -> fc2 (1x1 conv, bias) -> scale_activation, then ``x * scale``."""

    def __init__(self, channels: int, squeeze: int, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: Tensor) -> Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth ("row" mode); identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        noise = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * noise.div_(keep)


class Permute(nn.Module):
    """torchvision.ops.misc.Permute."""

    def __init__(self, dims: Sequence[int]):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(*self.dims)


def _bn_relu_conv(cin, cout, k=3, s=1, p=0, groups=1) -> list[nn.Module]:
    """conv (no bias) + BatchNorm + ReLU as a flat list of modules."""
    return [nn.Conv2d(cin, cout, k, s, p, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


# --------------------------------------------------------------------------
# sequential classics (not torchvision; names are Caffe-like)
# --------------------------------------------------------------------------


def lenet5() -> nn.Module:
    """Caffe MNIST LeNet (1x28x28): conv1 20@5x5, pool, conv2 50@5x5, pool,
    ip1 800->500, relu, ip2 500->10.  No activation after the convs."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 20, 5)),
        ("pool1", nn.MaxPool2d(2, 2)),
        ("conv2", nn.Conv2d(20, 50, 5)),
        ("pool2", nn.MaxPool2d(2, 2)),
        ("flatten", nn.Flatten()),
        ("ip1", nn.Linear(800, 500)),
        ("relu1", nn.ReLU(inplace=True)),
        ("ip2", nn.Linear(500, 10)),
    ]))


def tiny_cnn() -> nn.Module:
    """3x32x32: conv 16@3x3 p1, tanh, pool2, conv 8@3x3 p1, tanh, pool2,
    fc 512->32, tanh, fc 32->2."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 16, 3, padding=1)),
        ("tanh1", nn.Tanh()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(16, 8, 3, padding=1)),
        ("tanh2", nn.Tanh()),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(512, 32)),
        ("tanh3", nn.Tanh()),
        ("fc2", nn.Linear(32, 2)),
    ]))


def alexnet_bvlc() -> nn.Module:
    """Original two-group BVLC (Caffe) AlexNet, 3x227x227, with LRN."""
    def lrn():
        return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)

    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 96, 11, stride=4)), ("relu1", nn.ReLU(inplace=True)),
        ("norm1", lrn()), ("pool1", nn.MaxPool2d(3, 2)),
        ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)), ("relu2", nn.ReLU(inplace=True)),
        ("norm2", lrn()), ("pool2", nn.MaxPool2d(3, 2)),
        ("conv3", nn.Conv2d(256, 384, 3, padding=1)), ("relu3", nn.ReLU(inplace=True)),
        ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)), ("relu4", nn.ReLU(inplace=True)),
        ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)), ("relu5", nn.ReLU(inplace=True)),
        ("pool5", nn.MaxPool2d(3, 2)),
        ("flatten", nn.Flatten()),
        ("fc6", nn.Linear(9216, 4096)), ("relu6", nn.ReLU(inplace=True)), ("drop6", nn.Dropout(0.5)),
        ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU(inplace=True)), ("drop7", nn.Dropout(0.5)),
        ("fc8", nn.Linear(4096, 1000)),
    ]))


# (out_channels, stride) of the 13 depthwise-separable blocks
_MOBILENET_V1 = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def mobilenet_v1() -> nn.Module:
    """MobileNet v1 (3x224x224).  ``features.0`` = conv3x3/s2 + BN + ReLU;
    ``features.1..13`` = [dw 3x3 conv, BN, ReLU, pw 1x1 conv, BN, ReLU]
    (convs without bias); then avgpool, flatten, fc 1024->1000."""
    blocks: list[nn.Module] = [nn.Sequential(*_bn_relu_conv(3, 32, 3, 2, 1))]
    cin = 32
    for cout, s in _MOBILENET_V1:
        blocks.append(nn.Sequential(*_bn_relu_conv(cin, cin, 3, s, 1, groups=cin), *_bn_relu_conv(cin, cout, 1)))
        cin = cout
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(*blocks)),
        ("avgpool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(1024, 1000)),
    ]))


# --------------------------------------------------------------------------
# AlexNet / VGG (torchvision)
# --------------------------------------------------------------------------


class AlexNet(nn.Module):
    """torchvision AlexNet (single-group variant, 64/192/384/256/256)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = []
        # (out, kernel, stride, padding, maxpool after)
        cin = 3
        for cout, k, s, p, pool in [(64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False),
                                    (256, 3, 1, 1, False), (256, 3, 1, 1, True)]:
            layers += [nn.Conv2d(cin, cout, k, s, p), nn.ReLU(inplace=True)]
            if pool:
                layers.append(nn.MaxPool2d(3, 2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * 36, 4096), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


_VGG_CFG = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """torchvision VGG: conv3x3 p1 (bias) [+BN] + ReLU, 'M' = MaxPool(2,2);
    avgpool(7x7); classifier 25088-4096-4096-1000 with ReLU+Dropout."""

    def __init__(self, cfg: str, batch_norm: bool = False, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in _VGG_CFG[cfg]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(cin, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------
# ResNet family (torchvision, ResNet v1.5: stride on the 3x3 conv)
# --------------------------------------------------------------------------


def _downsample(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample=None, groups=1, base_width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """1x1 (cin->width) / 3x3 stride, groups (width->width) / 1x1 (width->4*planes);
    width = int(planes * base_width / 64) * groups."""
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample=None, groups=1, base_width=64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, layers: Sequence[int], groups: int = 1, width_per_group: int = 64,
                 num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            cout = planes * block.expansion
            ds = _downsample(cin, cout, stride) if (stride != 1 or cin != cout) else None
            blocks = [block(cin, planes, stride, ds, groups, width_per_group)]
            blocks += [block(cout, planes, 1, None, groups, width_per_group) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------
# SqueezeNet
# --------------------------------------------------------------------------


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, e1: int, e3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


# "M" = MaxPool(3, 2, ceil_mode=True); tuples are Fire(in, squeeze, e1x1, e3x3)
_SQUEEZENET = {
    "1_0": ((96, 7), ["M", (96, 16, 64, 64), (128, 16, 64, 64), (128, 32, 128, 128), "M",
                      (256, 32, 128, 128), (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), "M",
                      (512, 64, 256, 256)]),
    "1_1": ((64, 3), ["M", (64, 16, 64, 64), (128, 16, 64, 64), "M", (128, 32, 128, 128), (256, 32, 128, 128), "M",
                      (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), (512, 64, 256, 256)]),
}


class SqueezeNet(nn.Module):
    """features: conv (bias, stride 2, no padding) + ReLU + Fire modules / ceil-mode
    maxpools; classifier: Dropout, conv1x1 512->1000 (bias), ReLU, AdaptiveAvgPool 1."""

    def __init__(self, version: str, num_classes: int = 1000):
        super().__init__()
        (c0, k0), cfg = _SQUEEZENET[version]
        layers: list[nn.Module] = [nn.Conv2d(3, c0, k0, stride=2), nn.ReLU(inplace=True)]
        for item in cfg:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True) if item == "M" else Fire(*item))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(512, num_classes, 1),
                                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


# --------------------------------------------------------------------------
# DenseNet
# --------------------------------------------------------------------------


class _DenseLayer(nn.Module):
    """BN-ReLU-conv1x1 (-> bn_size*growth) - BN-ReLU-conv3x3 p1 (-> growth);
    output is concat(input, new features)."""

    def __init__(self, cin: int, growth: int, bn_size: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(out)))
        return torch.cat([x, out], 1)


class DenseNet(nn.Module):
    def __init__(self, growth: int = 32, block_config=(6, 12, 24, 16), init_features: int = 64,
                 bn_size: int = 4, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, init_features, 7, 2, 3, bias=False)),
            ("norm0", nn.BatchNorm2d(init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(3, 2, 1)),
        ]))
        c = init_features
        for i, n in enumerate(block_config):
            block = nn.Sequential(OrderedDict(
                (f"denselayer{j + 1}", _DenseLayer(c + j * growth, growth, bn_size)) for j in range(n)))
            self.features.add_module(f"denseblock{i + 1}", block)
            c += n * growth
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", nn.Sequential(OrderedDict([
                    ("norm", nn.BatchNorm2d(c)), ("relu", nn.ReLU(inplace=True)),
                    ("conv", nn.Conv2d(c, c // 2, 1, bias=False)), ("pool", nn.AvgPool2d(2, 2)),
                ])))
                c //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1))
        return self.classifier(torch.flatten(out, 1))


# --------------------------------------------------------------------------
# GoogLeNet / Inception v3 (BasicConv2d = conv(no bias) + BN + functional ReLU)
# --------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionV1(nn.Module):
    """GoogLeNet inception block.  NB: torchvision's "5x5" branch uses a 3x3 conv."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, kernel_size=1),
                                     BasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, kernel_size=1),
                                     BasicConv2d(c5r, c5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                     BasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


# name -> (in, 1x1, 3x3reduce, 3x3, 5x5reduce, "5x5" (really 3x3), pool proj)
_GOOGLENET = [
    ("inception3a", (192, 64, 96, 128, 16, 32, 32)),
    ("inception3b", (256, 128, 128, 192, 32, 96, 64)),
    ("maxpool3", (3, 2)),
    ("inception4a", (480, 192, 96, 208, 16, 48, 64)),
    ("inception4b", (512, 160, 112, 224, 24, 64, 64)),
    ("inception4c", (512, 128, 128, 256, 24, 64, 64)),
    ("inception4d", (512, 112, 144, 288, 32, 64, 64)),
    ("inception4e", (528, 256, 160, 320, 32, 128, 128)),
    ("maxpool4", (2, 2)),
    ("inception5a", (832, 256, 160, 320, 32, 128, 128)),
    ("inception5b", (832, 384, 192, 384, 48, 128, 128)),
]


class GoogLeNet(nn.Module):
    """torchvision GoogLeNet with aux_logits=False, transform_input=False.
    All maxpools use ceil_mode=True."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self._body = []
        for name, cfg in _GOOGLENET:
            mod = nn.MaxPool2d(*cfg, ceil_mode=True) if name.startswith("maxpool") else InceptionV1(*cfg)
            setattr(self, name, mod)
            self._body.append(name)
        self.aux1 = None
        self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        for name in self._body:
            x = getattr(self, name)(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def _bc(cin, cout, k, s=1, p=0) -> BasicConv2d:
    return BasicConv2d(cin, cout, kernel_size=k, stride=s, padding=p)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = _bc(cin, 64, 1)
        self.branch5x5_1 = _bc(cin, 48, 1)
        self.branch5x5_2 = _bc(48, 64, 5, p=2)
        self.branch3x3dbl_1 = _bc(cin, 64, 1)
        self.branch3x3dbl_2 = _bc(64, 96, 3, p=1)
        self.branch3x3dbl_3 = _bc(96, 96, 3, p=1)
        self.branch_pool = _bc(cin, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = _bc(cin, 384, 3, s=2)
        self.branch3x3dbl_1 = _bc(cin, 64, 1)
        self.branch3x3dbl_2 = _bc(64, 96, 3, p=1)
        self.branch3x3dbl_3 = _bc(96, 96, 3, s=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = _bc(cin, 192, 1)
        self.branch7x7_1 = _bc(cin, c7, 1)
        self.branch7x7_2 = _bc(c7, c7, (1, 7), p=(0, 3))
        self.branch7x7_3 = _bc(c7, 192, (7, 1), p=(3, 0))
        self.branch7x7dbl_1 = _bc(cin, c7, 1)
        self.branch7x7dbl_2 = _bc(c7, c7, (7, 1), p=(3, 0))
        self.branch7x7dbl_3 = _bc(c7, c7, (1, 7), p=(0, 3))
        self.branch7x7dbl_4 = _bc(c7, c7, (7, 1), p=(3, 0))
        self.branch7x7dbl_5 = _bc(c7, 192, (1, 7), p=(0, 3))
        self.branch_pool = _bc(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = _bc(cin, 192, 1)
        self.branch3x3_2 = _bc(192, 320, 3, s=2)
        self.branch7x7x3_1 = _bc(cin, 192, 1)
        self.branch7x7x3_2 = _bc(192, 192, (1, 7), p=(0, 3))
        self.branch7x7x3_3 = _bc(192, 192, (7, 1), p=(3, 0))
        self.branch7x7x3_4 = _bc(192, 192, 3, s=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, 2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch1x1 = _bc(cin, 320, 1)
        self.branch3x3_1 = _bc(cin, 384, 1)
        self.branch3x3_2a = _bc(384, 384, (1, 3), p=(0, 1))
        self.branch3x3_2b = _bc(384, 384, (3, 1), p=(1, 0))
        self.branch3x3dbl_1 = _bc(cin, 448, 1)
        self.branch3x3dbl_2 = _bc(448, 384, 3, p=1)
        self.branch3x3dbl_3a = _bc(384, 384, (1, 3), p=(0, 1))
        self.branch3x3dbl_3b = _bc(384, 384, (3, 1), p=(1, 0))
        self.branch_pool = _bc(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        t = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
        t = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(t), self.branch3x3dbl_3b(t)], 1)
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1))
        return torch.cat([b1, b3, bd, bp], 1)


class Inception3(nn.Module):
    """torchvision inception_v3 (aux_logits=False, transform_input=False), 3x299x299."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.Conv2d_1a_3x3 = _bc(3, 32, 3, s=2)
        self.Conv2d_2a_3x3 = _bc(32, 32, 3)
        self.Conv2d_2b_3x3 = _bc(32, 64, 3, p=1)
        self.maxpool1 = nn.MaxPool2d(3, 2)
        self.Conv2d_3b_1x1 = _bc(64, 80, 1)
        self.Conv2d_4a_3x3 = _bc(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, 2)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.AuxLogits = None
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        for child in self.children():
            if child is self.avgpool:
                break
            x = child(x)
        x = torch.flatten(self.dropout(self.avgpool(x)), 1)
        return self.fc(x)


# --------------------------------------------------------------------------
# MobileNet v2 / v3
# --------------------------------------------------------------------------


class InvertedResidualV2(nn.Module):
    """``conv`` = [ConvNormAct 1x1 expand (ReLU6), if t != 1] + ConvNormAct dw 3x3
    (ReLU6) + conv 1x1 (no bias) + BN."""

    def __init__(self, cin: int, cout: int, stride: int, t: int):
        super().__init__()
        hidden = int(round(cin * t))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if t != 1:
            layers.append(ConvNormAct(cin, hidden, 1, act=nn.ReLU6))
        layers += [ConvNormAct(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# (expand t, out c, repeats n, first stride s)
_MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                 (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(3, 32, 3, 2, act=nn.ReLU6)]
        cin = 32
        for t, c, n, s in _MOBILENET_V2:
            for i in range(n):
                layers.append(InvertedResidualV2(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(ConvNormAct(cin, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class InvertedResidualV3(nn.Module):
    """``block`` = [expand 1x1 if exp != in] + dw kxk + [SE] + project 1x1 (no act).
    SE squeeze = _make_divisible(exp // 4, 8), ReLU inside, Hardsigmoid gate."""

    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, hs: bool, stride: int):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        act = nn.Hardswish if hs else nn.ReLU
        norm = _bn_v3
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(ConvNormAct(cin, exp, 1, norm=norm, act=act))
        layers.append(ConvNormAct(exp, exp, k, stride, groups=exp, norm=norm, act=act))
        if se:
            layers.append(SqueezeExcitation(exp, _make_divisible(exp // 4, 8), scale_activation=nn.Hardsigmoid))
        layers.append(ConvNormAct(exp, cout, 1, norm=norm, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.use_res_connect else out


def _bn_v3(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=0.001, momentum=0.01)


# (in, kernel, expanded, out, use SE, hardswish?, stride)
_MOBILENET_V3 = {
    "large": ([
        (16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2), (24, 3, 72, 24, False, False, 1),
        (24, 5, 72, 40, True, False, 2), (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
        (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
        (80, 3, 184, 80, False, True, 1), (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
        (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1), (160, 5, 960, 160, True, True, 1),
    ], 1280),
    "small": ([
        (16, 3, 16, 16, True, False, 2), (16, 3, 72, 24, False, False, 2), (24, 3, 88, 24, False, False, 1),
        (24, 5, 96, 40, True, True, 2), (40, 5, 240, 40, True, True, 1), (40, 5, 240, 40, True, True, 1),
        (40, 5, 120, 48, True, True, 1), (48, 5, 144, 48, True, True, 1), (48, 5, 288, 96, True, True, 2),
        (96, 5, 576, 96, True, True, 1), (96, 5, 576, 96, True, True, 1),
    ], 1024),
}


class MobileNetV3(nn.Module):
    """stem conv3x3/s2 16 + BN + Hardswish; bnecks; last conv1x1 to 6*last_out
    + BN + Hardswish; avgpool; classifier Linear, Hardswish, Dropout, Linear."""

    def __init__(self, arch: str, num_classes: int = 1000):
        super().__init__()
        setting, last_channel = _MOBILENET_V3[arch]
        layers: list[nn.Module] = [ConvNormAct(3, setting[0][0], 3, 2, norm=_bn_v3, act=nn.Hardswish)]
        layers += [InvertedResidualV3(*cfg) for cfg in setting]
        last_in = setting[-1][3]
        layers.append(ConvNormAct(last_in, 6 * last_in, 1, norm=_bn_v3, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(6 * last_in, last_channel), nn.Hardswish(inplace=True),
            nn.Dropout(0.2, inplace=True), nn.Linear(last_channel, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------
# ShuffleNet v2
# --------------------------------------------------------------------------


def _channel_shuffle(x: Tensor, groups: int) -> Tensor:
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ShuffleUnit(nn.Module):
    """stride 2: branch1 = dw3x3/s2 + BN + 1x1 + BN + ReLU on the full input,
    branch2 = 1x1 + BN + ReLU + dw3x3/s2 + BN + 1x1 + BN + ReLU on the full input.
    stride 1: input split in halves, branch2 (in = out/2) on the second half,
    branch1 is an empty Sequential.  All convs bias-free.  Then channel shuffle(2)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        bf = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                *_bn_relu_conv(cin, bf, 1))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            *_bn_relu_conv(cin if stride > 1 else bf, bf, 1),
            nn.Conv2d(bf, bf, 3, stride, 1, groups=bf, bias=False), nn.BatchNorm2d(bf),
            *_bn_relu_conv(bf, bf, 1))

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return _channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024), num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Sequential(*_bn_relu_conv(3, channels[0], 3, 2, 1))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = channels[0]
        for i, (n, cout) in enumerate(zip(repeats, channels[1:4])):
            units = [ShuffleUnit(cin, cout, 2)] + [ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
            setattr(self, f"stage{i + 2}", nn.Sequential(*units))
            cin = cout
        self.conv5 = nn.Sequential(*_bn_relu_conv(cin, channels[-1], 1))
        self.fc = nn.Linear(channels[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


# --------------------------------------------------------------------------
# MNASNet 1.0
# --------------------------------------------------------------------------


class _MnasInvertedResidual(nn.Module):
    """``layers`` = 1x1 expand + BN + ReLU, dw kxk + BN + ReLU, 1x1 + BN (all bias-free)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, t: int):
        super().__init__()
        mid = cin * t
        self.apply_residual = cin == cout and stride == 1
        self.layers = nn.Sequential(
            *_bn_relu_conv(cin, mid, 1), *_bn_relu_conv(mid, mid, k, stride, k // 2, groups=mid),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x) + x if self.apply_residual else self.layers(x)


# (out, kernel, first stride, expansion, repeats); input 16 channels
_MNASNET = [(24, 3, 2, 3, 3), (40, 5, 2, 3, 3), (80, 5, 2, 6, 3), (96, 3, 1, 6, 2), (192, 5, 2, 6, 4),
            (320, 3, 1, 6, 1)]


class MNASNet(nn.Module):
    """MNASNet-B1, alpha 1.0 (depths 32, 16, 24, 40, 80, 96, 192, 320)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [
            *_bn_relu_conv(3, 32, 3, 2, 1),
            *_bn_relu_conv(32, 32, 3, 1, 1, groups=32),
            nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16),
        ]
        cin = 16
        for cout, k, s, t, n in _MNASNET:
            layers.append(nn.Sequential(*[_MnasInvertedResidual(cin if i == 0 else cout, cout, k, s if i == 0 else 1, t)
                                          for i in range(n)]))
            cin = cout
        layers += _bn_relu_conv(cin, 1280, 1)
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


# --------------------------------------------------------------------------
# EfficientNet-B0
# --------------------------------------------------------------------------


class MBConv(nn.Module):
    """``block`` = [1x1 expand + BN + SiLU if expand != 1] + dw kxk + BN + SiLU
    + SE(squeeze = max(1, block_in // 4), SiLU, Sigmoid) + 1x1 project + BN;
    ``stochastic_depth`` (identity at eval) on the residual branch."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int, sd_prob: float):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        exp = _make_divisible(cin * expand, 8)
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(ConvNormAct(cin, exp, 1, act=nn.SiLU))
        layers.append(ConvNormAct(exp, exp, k, stride, groups=exp, act=nn.SiLU))
        layers.append(SqueezeExcitation(exp, max(1, cin // 4), activation=lambda: nn.SiLU(inplace=True)))
        layers.append(ConvNormAct(exp, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out


# (expand, kernel, first stride, in, out, repeats)
_EFFICIENTNET_B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                    (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes: int = 1000, stochastic_depth_prob: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(3, 32, 3, 2, act=nn.SiLU)]
        total = sum(c[-1] for c in _EFFICIENTNET_B0)
        idx = 0
        for t, k, s, cin, cout, n in _EFFICIENTNET_B0:
            stage = []
            for i in range(n):
                stage.append(MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, t,
                                    stochastic_depth_prob * idx / total))
                idx += 1
            layers.append(nn.Sequential(*stage))
        layers.append(ConvNormAct(320, 1280, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------
# RegNetY-400MF
# --------------------------------------------------------------------------


class ResBottleneckBlock(nn.Module):
    """x -> proj (1x1 stride, BN; only if shape changes) + f(x) -> ReLU, with
    f = a: 1x1 BN ReLU; b: 3x3 stride, groups=w_b/group_width, BN ReLU;
    se: SE(squeeze = round(0.25 * block_in), ReLU, Sigmoid); c: 1x1 BN."""

    def __init__(self, cin: int, cout: int, stride: int, group_width: int, se_ratio: float):
        super().__init__()
        self.proj = ConvNormAct(cin, cout, 1, stride, act=None) if (cin != cout or stride != 1) else None
        w_b = cout  # bottleneck multiplier 1.0
        self.f = nn.Sequential(OrderedDict([
            ("a", ConvNormAct(cin, w_b, 1)),
            ("b", ConvNormAct(w_b, w_b, 3, stride, groups=w_b // group_width)),
            ("se", SqueezeExcitation(w_b, int(round(se_ratio * cin)))),
            ("c", ConvNormAct(w_b, cout, 1, act=None)),
        ]))
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        short = x if self.proj is None else self.proj(x)
        return self.activation(short + self.f(x))


# stage (width, depth); all strides 2, group width 8, SE ratio 0.25.  These are
# what torchvision's BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89,
# w_m=2.09, group_width=8, se_ratio=0.25) produces.
_REGNET_Y_400MF = [(48, 1), (104, 3), (208, 6), (440, 6)]


class RegNetY400MF(nn.Module):
    def __init__(self, num_classes: int = 1000, stem_width: int = 32, group_width: int = 8, se_ratio: float = 0.25):
        super().__init__()
        self.stem = ConvNormAct(3, stem_width, 3, 2)
        stages = []
        cin = stem_width
        for i, (w, d) in enumerate(_REGNET_Y_400MF, start=1):
            blocks = nn.Sequential(OrderedDict(
                (f"block{i}-{j}",
                 ResBottleneckBlock(cin if j == 0 else w, w, 2 if j == 0 else 1, group_width, se_ratio))
                for j in range(d)))
            stages.append((f"block{i}", blocks))
            cin = w
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(1))


# --------------------------------------------------------------------------
# ConvNeXt-Tiny
# --------------------------------------------------------------------------


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an NCHW tensor (weight & bias of shape (C,))."""

    def forward(self, x: Tensor) -> Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """``block`` = dw 7x7 p3 (bias), Permute NHWC, LayerNorm(C), Linear C->4C,
    GELU, Linear 4C->C, Permute NCHW; out = x + layer_scale * block(x), with
    ``layer_scale`` a parameter of shape (C, 1, 1)."""

    def __init__(self, dim: int, layer_scale: float, sd_prob: float):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x: Tensor) -> Tensor:
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


# (channels, blocks) per stage; a downsampling layer (LayerNorm2d + conv 2x2/s2)
# sits between stages.
_CONVNEXT_TINY = [(96, 3), (192, 3), (384, 9), (768, 3)]


class ConvNeXtTiny(nn.Module):
    def __init__(self, num_classes: int = 1000, stochastic_depth_prob: float = 0.1, layer_scale: float = 1e-6):
        super().__init__()
        norm = lambda c: LayerNorm2d(c, eps=1e-6)  # noqa: E731
        layers: list[nn.Module] = [ConvNormAct(3, 96, 4, 4, p=0, norm=norm, act=None, bias=True)]
        total = sum(n for _, n in _CONVNEXT_TINY)
        idx = 0
        for i, (c, n) in enumerate(_CONVNEXT_TINY):
            stage = []
            for _ in range(n):
                stage.append(CNBlock(c, layer_scale, stochastic_depth_prob * idx / (total - 1.0)))
                idx += 1
            layers.append(nn.Sequential(*stage))
            if i + 1 < len(_CONVNEXT_TINY):
                layers.append(nn.Sequential(norm(c), nn.Conv2d(c, _CONVNEXT_TINY[i + 1][0], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(norm(768), nn.Flatten(1), nn.Linear(768, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------

_IMG = (3, 224, 224)

BUILDERS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    # sequential classics
    "lenet5": (lenet5, (1, 28, 28)),
    "tiny_cnn": (tiny_cnn, (3, 32, 32)),
    "alexnet_bvlc": (alexnet_bvlc, (3, 227, 227)),
    "alexnet": (AlexNet, _IMG),
    "vgg16": (lambda: VGG("D"), _IMG),
    "mobilenet_v1": (mobilenet_v1, _IMG),
    # torchvision zoo
    "vgg11": (lambda: VGG("A"), _IMG),
    "vgg16_bn": (lambda: VGG("D", batch_norm=True), _IMG),
    "vgg19": (lambda: VGG("E"), _IMG),
    "resnet18": (lambda: ResNet(BasicBlock, [2, 2, 2, 2]), _IMG),
    "resnet34": (lambda: ResNet(BasicBlock, [3, 4, 6, 3]), _IMG),
    "resnet50": (lambda: ResNet(Bottleneck, [3, 4, 6, 3]), _IMG),
    "resnet101": (lambda: ResNet(Bottleneck, [3, 4, 23, 3]), _IMG),
    "resnet152": (lambda: ResNet(Bottleneck, [3, 8, 36, 3]), _IMG),
    "resnext50_32x4d": (lambda: ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4), _IMG),
    "wide_resnet50_2": (lambda: ResNet(Bottleneck, [3, 4, 6, 3], width_per_group=128), _IMG),
    "squeezenet1_0": (lambda: SqueezeNet("1_0"), _IMG),
    "squeezenet1_1": (lambda: SqueezeNet("1_1"), _IMG),
    "densenet121": (DenseNet, _IMG),
    "googlenet": (GoogLeNet, _IMG),
    "inception_v3": (Inception3, (3, 299, 299)),
    "mobilenet_v2": (MobileNetV2, _IMG),
    "mobilenet_v3_small": (lambda: MobileNetV3("small"), _IMG),
    "mobilenet_v3_large": (lambda: MobileNetV3("large"), _IMG),
    "shufflenet_v2_x1_0": (ShuffleNetV2, _IMG),
    "mnasnet1_0": (MNASNet, _IMG),
    "efficientnet_b0": (EfficientNetB0, _IMG),
    "regnet_y_400mf": (RegNetY400MF, _IMG),
    "convnext_tiny": (ConvNeXtTiny, _IMG),
}


#: extra (network, input shape) pairs reported by ``__main__`` (same builder, other input)
EXTRA_INPUTS: list[tuple[str, tuple[int, ...]]] = [
    ("resnet50", (3, 320, 320)),
    ("resnet50", (3, 512, 512)),
]


def _report(name: str, build: Callable[[], nn.Module], shape: tuple[int, ...], label: str) -> None:
    model = build().eval()
    with torch.no_grad():
        out = model(torch.zeros(1, *shape))
    print(f"{label:24s} {count_params(model):12,d} {count_float_buffers(model):9,d} "
          f"{conv_linear_macs(model, shape):15,d}  {tuple(out.shape[1:])}", flush=True)


if __name__ == "__main__":
    print(f"{'network':24s} {'params':>12s} {'buffers':>9s} {'MACs':>15s}  output")
    for name, (build, shape) in BUILDERS.items():
        _report(name, build, shape, name)
    for name, shape in EXTRA_INPUTS:
        _report(name, BUILDERS[name][0], shape, f"{name}@{shape[1]}x{shape[2]}")
