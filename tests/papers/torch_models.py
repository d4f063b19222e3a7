"""Sixteen networks from their papers and standard reference code, in plain PyTorch.

Written from the papers (and the reference code named in each docstring), independently of
cnncalc's export, to check the descriptions in ``tests/papers/*.yaml``. Module attribute names
are the ones the reference code uses, so ``named_modules()`` lines up with the descriptions'
layer names. Activations are modules (never ``F.relu``), so that the receptive-field probe can
make them the identity, and every builder takes the input shape without the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

Shape = Sequence[int]


# --------------------------------------------------------------------------------------------
# image generation and super-resolution


def dcgan_generator(shape: Shape) -> nn.Module:
    """DCGAN generator (Radford et al. 2016; the PyTorch DCGAN tutorial): z [100, 1, 1] → [3, 64, 64]."""
    nz, ngf = shape[0], 64

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
                nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())

        def forward(self, x: Tensor) -> Tensor:
            return self.main(x)

    return Generator()


def dcgan_discriminator(shape: Shape) -> nn.Module:
    """DCGAN discriminator (Radford et al. 2016; the PyTorch DCGAN tutorial): [3, 64, 64] → [1, 1, 1]."""
    ndf = 64

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(shape[0], ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

        def forward(self, x: Tensor) -> Tensor:
            return self.main(x)

    return Discriminator()


def srcnn(shape: Shape) -> nn.Module:
    """SRCNN 9-1-5 (Dong et al. 2014): three valid convolutions, 33×33 sub-images → 21×21."""

    class SRCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(shape[0], 64, 9)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(64, 32, 1)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv3 = nn.Conv2d(32, shape[0], 5)

        def forward(self, x: Tensor) -> Tensor:
            return self.conv3(self.relu2(self.conv2(self.relu1(self.conv1(x)))))

    return SRCNN()


def espcn(shape: Shape, r: int = 3) -> nn.Module:
    """ESPCN (Shi et al. 2016): (5, 64) tanh, (3, 32) tanh, (3, r²), periodic shuffling by r."""

    class ESPCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(shape[0], 64, 5, padding=2)
            self.tanh1 = nn.Tanh()
            self.conv2 = nn.Conv2d(64, 32, 3, padding=1)
            self.tanh2 = nn.Tanh()
            self.conv3 = nn.Conv2d(32, shape[0] * r * r, 3, padding=1)
            self.pixel_shuffle = nn.PixelShuffle(r)

        def forward(self, x: Tensor) -> Tensor:
            return self.pixel_shuffle(self.conv3(self.tanh2(self.conv2(self.tanh1(self.conv1(x))))))

    return ESPCN()


# --------------------------------------------------------------------------------------------
# video and audio


def c3d(shape: Shape, classes: int = 487) -> nn.Module:
    """C3D (Tran et al. 2015): eight 3×3×3 convolutions, five pools, fc6/fc7 4096, Sports-1M's 487."""

    class C3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv3d(shape[0], 64, 3, padding=1)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
            self.conv2 = nn.Conv3d(64, 128, 3, padding=1)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.MaxPool3d(2, 2)
            self.conv3a = nn.Conv3d(128, 256, 3, padding=1)
            self.relu3a = nn.ReLU()
            self.conv3b = nn.Conv3d(256, 256, 3, padding=1)
            self.relu3b = nn.ReLU()
            self.pool3 = nn.MaxPool3d(2, 2)
            self.conv4a = nn.Conv3d(256, 512, 3, padding=1)
            self.relu4a = nn.ReLU()
            self.conv4b = nn.Conv3d(512, 512, 3, padding=1)
            self.relu4b = nn.ReLU()
            self.pool4 = nn.MaxPool3d(2, 2)
            self.conv5a = nn.Conv3d(512, 512, 3, padding=1)
            self.relu5a = nn.ReLU()
            self.conv5b = nn.Conv3d(512, 512, 3, padding=1)
            self.relu5b = nn.ReLU()
            self.pool5 = nn.MaxPool3d(2, 2, padding=(0, 1, 1))
            t, h, w = shape[1] // 16, (shape[2] // 16 + 2) // 2, (shape[3] // 16 + 2) // 2
            self.flatten = nn.Flatten()
            self.fc6 = nn.Linear(512 * t * h * w, 4096)
            self.relu6 = nn.ReLU()
            self.dropout6 = nn.Dropout(0.5)
            self.fc7 = nn.Linear(4096, 4096)
            self.relu7 = nn.ReLU()
            self.dropout7 = nn.Dropout(0.5)
            self.fc8 = nn.Linear(4096, classes)
            self.softmax = nn.Softmax(1)

        def forward(self, x: Tensor) -> Tensor:
            for m in self.children():
                x = m(x)
            return x

    return C3D()


def m5(shape: Shape, classes: int = 10) -> nn.Module:
    """M5 (Dai et al. 2017, "Very deep CNNs for raw waveforms"): 80/4 then three 3-wide convolutions."""

    def stage(cin: int, cout: int, k: int, s: int) -> list[nn.Module]:
        return [nn.Conv1d(cin, cout, k, s), nn.BatchNorm1d(cout), nn.ReLU(), nn.MaxPool1d(4)]

    class M5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*(nn.Sequential(*stage(*args)) for args in (
                (shape[0], 128, 80, 4), (128, 128, 3, 1), (128, 256, 3, 1), (256, 512, 3, 1))))
            self.pool = nn.AdaptiveAvgPool1d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(512, classes)
            self.softmax = nn.Softmax(1)

        def forward(self, x: Tensor) -> Tensor:
            return self.softmax(self.fc(self.flatten(self.pool(self.features(x)))))

    return M5()


class Chomp1d(nn.Module):
    """Drops the last ``chomp`` time steps (the causal padding's right half; Bai et al.'s Chomp1d)."""

    def __init__(self, chomp: int) -> None:
        super().__init__()
        self.chomp = chomp

    def forward(self, x: Tensor) -> Tensor:
        return x[:, :, :-self.chomp]


class TemporalBlock(nn.Module):
    """Bai et al. 2018 (locuslab/TCN): two dilated causal convolutions, a 1×1 downsample, a residual."""

    def __init__(self, cin: int, cout: int, k: int, dilation: int, dropout: float = 0.05) -> None:
        super().__init__()
        pad = (k - 1) * dilation
        self.conv1 = nn.Conv1d(cin, cout, k, padding=pad, dilation=dilation)
        self.chomp1 = Chomp1d(pad)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(cout, cout, k, padding=pad, dilation=dilation)
        self.chomp2 = Chomp1d(pad)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.dropout1(self.relu1(self.chomp1(self.conv1(x))))
        out = self.dropout2(self.relu2(self.chomp2(self.conv2(out))))
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class LastStep(nn.Module):
    """``y[:, :, -1]``: the last time step (locuslab/TCN's sequential-MNIST head)."""

    def forward(self, x: Tensor) -> Tensor:
        return x[:, :, -1]


def tcn(shape: Shape, classes: int = 10, levels: int = 8, hidden: int = 25, k: int = 7) -> nn.Module:
    """TCN for sequential MNIST (Bai et al. 2018): 8 levels of 25 channels, k 7, dilation 2^i."""

    class TCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = nn.Sequential(*(TemporalBlock(shape[0] if i == 0 else hidden, hidden, k, 2 ** i)
                                           for i in range(levels)))
            self.last = LastStep()
            self.linear = nn.Linear(hidden, classes)
            self.log_softmax = nn.LogSoftmax(1)

        def forward(self, x: Tensor) -> Tensor:
            return self.log_softmax(self.linear(self.last(self.network(x))))

    return TCN()


class CausalConv1d(nn.Module):
    """A dilated causal convolution: pad ``dilation·(k−1)`` on the left, then convolve."""

    def __init__(self, cin: int, cout: int, k: int, dilation: int = 1) -> None:
        super().__init__()
        self.pad = nn.ZeroPad1d(((k - 1) * dilation, 0))
        self.conv = nn.Conv1d(cin, cout, k, dilation=dilation)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.pad(x))


class WaveNetBlock(nn.Module):
    """A WaveNet residual block (van den Oord et al. 2016, §2.3–2.4): tanh·σ gate, residual and skip 1×1."""

    def __init__(self, residual: int, dilation_channels: int, skip: int, dilation: int) -> None:
        super().__init__()
        self.filter = CausalConv1d(residual, dilation_channels, 2, dilation)
        self.gate = CausalConv1d(residual, dilation_channels, 2, dilation)
        self.tanh = nn.Tanh()
        self.sigmoid = nn.Sigmoid()
        self.residual = nn.Conv1d(dilation_channels, residual, 1)
        self.skip = nn.Conv1d(dilation_channels, skip, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z = self.tanh(self.filter(x)) * self.sigmoid(self.gate(x))
        return x + self.residual(z), self.skip(z)


def wavenet(shape: Shape, stacks: int = 2, layers: int = 10, residual: int = 32, skip: int = 256) -> nn.Module:
    """WaveNet (van den Oord et al. 2016): one-hot µ-law input, 2 stacks of dilations 1…512, skip sum."""
    quantization = shape[0]

    class WaveNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.causal = CausalConv1d(quantization, residual, 2)
            self.blocks = nn.ModuleList(WaveNetBlock(residual, residual, skip, 2 ** (i % layers))
                                        for i in range(stacks * layers))
            self.relu1 = nn.ReLU()
            self.conv1 = nn.Conv1d(skip, skip, 1)
            self.relu2 = nn.ReLU()
            self.conv2 = nn.Conv1d(skip, quantization, 1)
            self.softmax = nn.Softmax(1)

        def forward(self, x: Tensor) -> Tensor:
            x = self.causal(x)
            skips = []
            for block in self.blocks:
                x, s = block(x)
                skips.append(s)
            total = skips[0]
            for s in skips[1:]:
                total = total + s
            return self.softmax(self.conv2(self.relu2(self.conv1(self.relu1(total)))))

    return WaveNet()


# --------------------------------------------------------------------------------------------
# segmentation


class DoubleConv(nn.Module):
    """(conv 3×3 → [BN] → ReLU) × 2; valid (Ronneberger et al.) or padded with BN (milesial/Pytorch-UNet)."""

    def __init__(self, cin: int, cout: int, padded: bool) -> None:
        super().__init__()
        if padded:
            self.double_conv = nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        else:
            self.double_conv = nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(inplace=True),
                                             nn.Conv2d(cout, cout, 3), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    """Max pool 2 then a double convolution."""

    def __init__(self, cin: int, cout: int, padded: bool) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout, padded))

    def forward(self, x: Tensor) -> Tensor:
        return self.maxpool_conv(x)


def center_crop(x: Tensor, h: int, w: int) -> Tensor:
    """The centre h×w of x (torchvision's center_crop: offsets round((n − size)/2))."""
    top, left = int(round((x.shape[2] - h) / 2.0)), int(round((x.shape[3] - w) / 2.0))
    return x[:, :, top:top + h, left:left + w]


class Up(nn.Module):
    """Up-convolution 2×2 halving the channels, the skip cropped (valid) to its size, concat, double conv."""

    def __init__(self, cin: int, cout: int, padded: bool) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, 2)
        self.conv = DoubleConv(cin, cout, padded)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1 = self.up(x1)
        x2 = center_crop(x2, x1.shape[2], x1.shape[3])  # the identity when the sizes agree (padded)
        return self.conv(torch.cat([x2, x1], dim=1))


def unet(shape: Shape, padded: bool, classes: int = 2) -> nn.Module:
    """U-Net: the paper's valid version (572 → 388), or milesial/Pytorch-UNet's padded one with BN."""

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inc = DoubleConv(shape[0], 64, padded)
            self.down1 = Down(64, 128, padded)
            self.down2 = Down(128, 256, padded)
            self.down3 = Down(256, 512, padded)
            self.down4 = Down(512, 1024, padded)
            self.up1 = Up(1024, 512, padded)
            self.up2 = Up(512, 256, padded)
            self.up3 = Up(256, 128, padded)
            self.up4 = Up(128, 64, padded)
            self.outc = nn.Conv2d(64, classes, 1)

        def forward(self, x: Tensor) -> Tensor:
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x4 = self.down3(x3)
            x5 = self.down4(x4)
            x = self.up1(x5, x4)
            x = self.up2(x, x3)
            x = self.up3(x, x2)
            x = self.up4(x, x1)
            return self.outc(x)

    return UNet()


def unet_valid(shape: Shape) -> nn.Module:
    """The original U-Net (Ronneberger et al. 2015): valid convolutions, cropped skips."""
    return unet(shape, padded=False)


def unet_padded(shape: Shape) -> nn.Module:
    """The padded U-Net with batch norm (milesial/Pytorch-UNet, bilinear=False)."""
    return unet(shape, padded=True)


def fcn8s(shape: Shape, classes: int = 21) -> nn.Module:
    """FCN-8s (Long et al. 2015; shelhamer/fcn.berkeleyvision.org voc-fcn8s, wkentaro/pytorch-fcn).

    VGG-16 with 100 pixels of padding on conv1_1, fc6/fc7 as convolutions, and three score maps
    fused after offset crops (5, 9 and 31 pixels: the Caffe Crop layer's offsets).
    """

    class FCN8s(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            cfg = [(shape[0], 64, 100), (64, 64, 1), "M", (64, 128, 1), (128, 128, 1), "M",
                   (128, 256, 1), (256, 256, 1), (256, 256, 1), "M", (256, 512, 1), (512, 512, 1), (512, 512, 1),
                   "M", (512, 512, 1), (512, 512, 1), (512, 512, 1), "M"]
            stage, n = 1, 1
            for item in cfg:
                if item == "M":
                    setattr(self, f"pool{stage}", nn.MaxPool2d(2, 2, ceil_mode=True))
                    stage, n = stage + 1, 1
                    continue
                cin, cout, pad = item
                setattr(self, f"conv{stage}_{n}", nn.Conv2d(cin, cout, 3, padding=pad))
                setattr(self, f"relu{stage}_{n}", nn.ReLU(inplace=True))
                n += 1
            self.fc6 = nn.Conv2d(512, 4096, 7)
            self.relu6 = nn.ReLU(inplace=True)
            self.drop6 = nn.Dropout2d()
            self.fc7 = nn.Conv2d(4096, 4096, 1)
            self.relu7 = nn.ReLU(inplace=True)
            self.drop7 = nn.Dropout2d()
            self.score_fr = nn.Conv2d(4096, classes, 1)
            self.score_pool3 = nn.Conv2d(256, classes, 1)
            self.score_pool4 = nn.Conv2d(512, classes, 1)
            self.upscore2 = nn.ConvTranspose2d(classes, classes, 4, stride=2, bias=False)
            self.upscore8 = nn.ConvTranspose2d(classes, classes, 16, stride=8, bias=False)
            self.upscore_pool4 = nn.ConvTranspose2d(classes, classes, 4, stride=2, bias=False)

        def forward(self, x: Tensor) -> Tensor:
            h, w = x.shape[2], x.shape[3]
            y = x
            for stage, convs in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)):
                for n in range(1, convs + 1):
                    y = getattr(self, f"relu{stage}_{n}")(getattr(self, f"conv{stage}_{n}")(y))
                y = getattr(self, f"pool{stage}")(y)
                if stage == 3:
                    pool3 = y
                if stage == 4:
                    pool4 = y
            y = self.drop7(self.relu7(self.fc7(self.drop6(self.relu6(self.fc6(y))))))
            upscore2 = self.upscore2(self.score_fr(y))
            s4 = self.score_pool4(pool4)
            s4 = s4[:, :, 5:5 + upscore2.shape[2], 5:5 + upscore2.shape[3]]
            upscore_pool4 = self.upscore_pool4(upscore2 + s4)
            s3 = self.score_pool3(pool3)
            s3 = s3[:, :, 9:9 + upscore_pool4.shape[2], 9:9 + upscore_pool4.shape[3]]
            out = self.upscore8(upscore_pool4 + s3)
            return out[:, :, 31:31 + h, 31:31 + w]

    return FCN8s()


class ASPPPooling(nn.Sequential):
    """torchvision's ASPPPooling: global average, 1×1 conv, BN, ReLU, bilinear back to the map's size."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        for mod in self:
            x = mod(x)
        return nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """torchvision's ASPP (Chen et al. 2017, DeepLabv3 §3.3): 1×1, three atrous 3×3, image pooling."""

    def __init__(self, cin: int, rates: Sequence[int], cout: int = 256) -> None:
        super().__init__()
        modules: list[nn.Module] = [nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())]
        for rate in rates:
            modules.append(nn.Sequential(nn.Conv2d(cin, cout, 3, padding=rate, dilation=rate, bias=False),
                                         nn.BatchNorm2d(cout), nn.ReLU()))
        modules.append(ASPPPooling(cin, cout))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(nn.Conv2d(len(modules) * cout, cout, 1, bias=False), nn.BatchNorm2d(cout),
                                     nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


def deeplabv3_head(shape: Shape, classes: int = 21) -> nn.Module:
    """torchvision's DeepLabHead: ASPP (rates 12, 24, 36) on ResNet's 2048 channels, 3×3 conv, classifier."""
    return nn.Sequential(ASPP(shape[0], [12, 24, 36]), nn.Conv2d(256, 256, 3, padding=1, bias=False),
                         nn.BatchNorm2d(256), nn.ReLU(), nn.Conv2d(256, classes, 1))


# --------------------------------------------------------------------------------------------
# detection


class ConvBNLeaky(nn.Module):
    """A darknet convolutional layer: conv (no bias), BN, leaky ReLU 0.1."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, 1, (k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


def yolov3_tiny(shape: Shape, classes: int = 80) -> nn.Module:
    """YOLOv3-tiny (darknet's yolov3-tiny.cfg): two heads, at strides 32 and 16, 3·(5 + 80) channels each."""
    out = 3 * (5 + classes)

    class YOLOv3Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.pool1 = ConvBNLeaky(shape[0], 16, 3), nn.MaxPool2d(2, 2)
            self.conv2, self.pool2 = ConvBNLeaky(16, 32, 3), nn.MaxPool2d(2, 2)
            self.conv3, self.pool3 = ConvBNLeaky(32, 64, 3), nn.MaxPool2d(2, 2)
            self.conv4, self.pool4 = ConvBNLeaky(64, 128, 3), nn.MaxPool2d(2, 2)
            self.conv5, self.pool5 = ConvBNLeaky(128, 256, 3), nn.MaxPool2d(2, 2)
            self.conv6 = ConvBNLeaky(256, 512, 3)
            # darknet's size-2 stride-1 max pool keeps 13×13: one row and column of padding at the end
            self.pad6, self.pool6 = nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)
            self.conv7 = ConvBNLeaky(512, 1024, 3)
            self.conv8 = ConvBNLeaky(1024, 256, 1)
            self.conv9 = ConvBNLeaky(256, 512, 3)
            self.head13 = nn.Conv2d(512, out, 1)
            self.conv10 = ConvBNLeaky(256, 128, 1)
            self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
            self.conv11 = ConvBNLeaky(384, 256, 3)
            self.head26 = nn.Conv2d(256, out, 1)

        def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
            x = self.pool4(self.conv4(self.pool3(self.conv3(self.pool2(self.conv2(self.pool1(self.conv1(x))))))))
            route = self.conv5(x)
            x = self.conv8(self.conv7(self.pool6(self.pad6(self.conv6(self.pool5(route))))))
            head13 = self.head13(self.conv9(x))
            y = torch.cat([self.upsample(self.conv10(x)), route], dim=1)
            return head13, self.head26(self.conv11(y))

    return YOLOv3Tiny()


# --------------------------------------------------------------------------------------------
# efficient backbones


def _make_divisible(v: float, divisor: int = 4) -> int:
    """The channel rounding of the GhostNet and MobileNet reference code."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class GhostModule(nn.Module):
    """GhostNet's Ghost module (Han et al. 2020, huawei-noah/ghostnet): primary 1×1, cheap depthwise, slice."""

    def __init__(self, cin: int, oup: int, relu: bool, ratio: int = 2, dw: int = 3) -> None:
        super().__init__()
        self.oup = oup
        init = math.ceil(oup / ratio)
        new = init * (ratio - 1)
        self.primary_conv = nn.Sequential(nn.Conv2d(cin, init, 1, bias=False), nn.BatchNorm2d(init),
                                          *([nn.ReLU(inplace=True)] if relu else []))
        self.cheap_operation = nn.Sequential(nn.Conv2d(init, new, dw, 1, dw // 2, groups=init, bias=False),
                                             nn.BatchNorm2d(new), *([nn.ReLU(inplace=True)] if relu else []))

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.primary_conv(x)
        x2 = self.cheap_operation(x1)
        return torch.cat([x1, x2], dim=1)[:, :self.oup, :, :]


class GhostSE(nn.Module):
    """GhostNet's squeeze-excite: hard-sigmoid gate, squeeze to make_divisible(C/4)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        r = _make_divisible(c * 0.25)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_reduce = nn.Conv2d(c, r, 1)
        self.act1 = nn.ReLU(inplace=True)
        self.conv_expand = nn.Conv2d(r, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(self.conv_expand(self.act1(self.conv_reduce(self.avg_pool(x)))))


class GhostBottleneck(nn.Module):
    """GhostNet's bottleneck: ghost (ReLU), [depthwise stride 2], [SE], ghost (linear), shortcut."""

    def __init__(self, cin: int, mid: int, cout: int, k: int, stride: int, se: float) -> None:
        super().__init__()
        self.ghost1 = GhostModule(cin, mid, relu=True)
        if stride > 1:
            self.conv_dw = nn.Conv2d(mid, mid, k, stride, (k - 1) // 2, groups=mid, bias=False)
            self.bn_dw = nn.BatchNorm2d(mid)
        self.stride = stride
        self.se = GhostSE(mid) if se else None
        self.ghost2 = GhostModule(mid, cout, relu=False)
        if cin == cout and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cin, k, stride, (k - 1) // 2, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        y = self.ghost1(x)
        if self.stride > 1:
            y = self.bn_dw(self.conv_dw(y))
        if self.se is not None:
            y = self.se(y)
        return self.ghost2(y) + self.shortcut(x)


#: GhostNet 1.0's stages: (kernel, expansion size, output channels, SE ratio, stride) per bottleneck
GHOSTNET_CFG = [
    [(3, 16, 16, 0, 1)],
    [(3, 48, 24, 0, 2)], [(3, 72, 24, 0, 1)],
    [(5, 72, 40, 0.25, 2)], [(5, 120, 40, 0.25, 1)],
    [(3, 240, 80, 0, 2)],
    [(3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)],
    [(5, 672, 160, 0.25, 2)],
    [(5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)],
]


def ghostnet(shape: Shape, classes: int = 1000) -> nn.Module:
    """GhostNet 1.0× (Han et al. 2020, huawei-noah/Efficient-AI-Backbones ghostnet_pytorch)."""

    class GhostNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv_stem = nn.Conv2d(shape[0], 16, 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.act1 = nn.ReLU(inplace=True)
            stages: list[nn.Module] = []
            cin = 16
            for cfg in GHOSTNET_CFG:
                layers = []
                for k, exp, c, se, s in cfg:
                    layers.append(GhostBottleneck(cin, _make_divisible(exp), _make_divisible(c), k, s, se))
                    cin = _make_divisible(c)
                stages.append(nn.Sequential(*layers))
            stages.append(nn.Sequential(nn.Conv2d(cin, 960, 1, bias=False), nn.BatchNorm2d(960), nn.ReLU(inplace=True)))
            self.blocks = nn.Sequential(*stages)
            self.global_pool = nn.AdaptiveAvgPool2d(1)
            self.conv_head = nn.Conv2d(960, 1280, 1)
            self.act2 = nn.ReLU(inplace=True)
            self.flatten = nn.Flatten()
            self.dropout = nn.Dropout(0.2)
            self.classifier = nn.Linear(1280, classes)

        def forward(self, x: Tensor) -> Tensor:
            x = self.blocks(self.act1(self.bn1(self.conv_stem(x))))
            x = self.act2(self.conv_head(self.global_pool(x)))
            return self.classifier(self.dropout(self.flatten(x)))

    return GhostNet()


class FusedMBConv(nn.Module):
    """torchvision's FusedMBConv (Tan & Le 2021, EfficientNetV2): a fused 3×3 expansion, a 1×1 projection."""

    def __init__(self, expand: int, k: int, stride: int, cin: int, cout: int) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        mid = cin * expand
        if mid != cin:
            self.block = nn.Sequential(
                nn.Sequential(nn.Conv2d(cin, mid, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(mid),
                              nn.SiLU(True)),
                nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)))
        else:
            self.block = nn.Sequential(
                nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(cout),
                              nn.SiLU(True)))
        # torchvision's StochasticDepth is the identity in eval mode; it is left out here

    def forward(self, x: Tensor) -> Tensor:
        y = self.block(x)
        return y + x if self.use_res_connect else y


def efficientnet_v2_fused(shape: Shape) -> nn.Module:
    """EfficientNetV2-S's stem and three fused stages (torchvision ``features.0`` … ``features.3``)."""
    stages = [(1, 3, 1, 24, 24, 2), (4, 3, 2, 24, 48, 4), (4, 3, 2, 48, 64, 4)]
    features: list[nn.Module] = [nn.Sequential(nn.Conv2d(shape[0], 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24),
                                               nn.SiLU(True))]
    for expand, k, s, cin, cout, n in stages:
        features.append(nn.Sequential(*(FusedMBConv(expand, k, s if i == 0 else 1, cin if i == 0 else cout, cout)
                                        for i in range(n))))

    class FusedStages(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*features)

        def forward(self, x: Tensor) -> Tensor:
            return self.features(x)

    return FusedStages()


# --------------------------------------------------------------------------------------------
# point clouds


class MaxOverPoints(nn.Module):
    """``torch.max(x, 2)[0]``: the symmetric function of PointNet (its indices are what autograd keeps)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.max(x, 2)[0]


def pointnet(shape: Shape, classes: int = 40) -> nn.Module:
    """PointNet classification without the T-Nets (Qi et al. 2017, the "vanilla" row of table 5)."""

    class PointNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            widths = [shape[0], 64, 64, 64, 128, 1024]
            for i in range(1, 6):
                setattr(self, f"conv{i}", nn.Conv1d(widths[i - 1], widths[i], 1))
                setattr(self, f"bn{i}", nn.BatchNorm1d(widths[i]))
                setattr(self, f"relu{i}", nn.ReLU())
            self.max = MaxOverPoints()
            self.fc1, self.bn6, self.relu6 = nn.Linear(1024, 512), nn.BatchNorm1d(512), nn.ReLU()
            self.fc2, self.bn7, self.relu7 = nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU()
            self.dropout = nn.Dropout(0.3)
            self.fc3 = nn.Linear(256, classes)
            self.log_softmax = nn.LogSoftmax(1)

        def forward(self, x: Tensor) -> Tensor:
            for m in self.children():
                x = m(x)
            return x

    return PointNet()


BUILDERS: dict[str, Callable[[Shape], nn.Module]] = {
    "dcgan_generator": dcgan_generator,
    "dcgan_discriminator": dcgan_discriminator,
    "srcnn": srcnn,
    "espcn": espcn,
    "c3d": c3d,
    "m5": m5,
    "tcn": tcn,
    "wavenet": wavenet,
    "unet_valid": unet_valid,
    "unet_padded": unet_padded,
    "fcn8s": fcn8s,
    "deeplabv3_aspp": deeplabv3_head,
    "yolov3_tiny": yolov3_tiny,
    "ghostnet": ghostnet,
    "efficientnet_v2_fused": efficientnet_v2_fused,
    "pointnet": pointnet,
}
