"""Plain-torch models for the importer's tests: each construct real CNNs use, written as their authors do."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _bn_act(c: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))


class SqueezeExcite(nn.Module):
    """SE gate with linear layers and a view back to [C, 1, 1] (the original SENet code)."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, c // r), nn.Linear(c // r, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, _, _ = x.shape
        y = x.mean((2, 3))
        y = torch.sigmoid(self.fc2(F.relu(self.fc1(y)))).view(b, c, 1, 1)
        return x * y


class ECA(nn.Module):
    """ECA gate: a 1-d convolution across the pooled channels (ECA-Net's code)."""

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * self.sigmoid(y).expand_as(x)


class SpaceToDepth(nn.Module):
    """timm's SpaceToDepth (TResNet): view, permute, contiguous, view."""

    def __init__(self, bs: int = 2) -> None:
        super().__init__()
        self.bs = bs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, c, h // self.bs, self.bs, w // self.bs, self.bs)
        x = x.permute(0, 3, 5, 1, 2, 4).contiguous()
        return x.view(n, c * self.bs * self.bs, h // self.bs, w // self.bs)


class SplitAttention(nn.Module):
    """ResNeSt's split attention: a sum over the radix and a softmax across it."""

    def __init__(self, c: int, radix: int = 2) -> None:
        super().__init__()
        self.radix = radix
        self.conv = nn.Conv2d(c, c * radix, 3, padding=1, groups=radix, bias=False)
        self.bn0 = nn.BatchNorm2d(c * radix)
        self.act0 = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(c, c // 2, 1)
        self.act1 = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(c // 2, c * radix, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act0(self.bn0(self.conv(x)))
        b, rc, h, w = x.shape
        x = x.view(b, self.radix, rc // self.radix, h, w)
        gap = x.sum(dim=1).mean((2, 3), keepdim=True)
        attn = self.fc2(self.act1(self.fc1(gap)))
        attn = attn.view(b, self.radix, rc // self.radix).softmax(dim=1).view(b, self.radix, -1, 1, 1)
        return (x * attn).sum(dim=1)


class DropPath(nn.Module):
    """Stochastic depth as timm writes it: the input itself in eval."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class ConvNeXtBlock(nn.Module):
    """Channels-last LayerNorm, inverted MLP, layer scale and drop path (ConvNeXt)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c,), 1e-6))
        self.drop_path = DropPath(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        y = (self.gamma * y).permute(0, 3, 1, 2)
        return x + self.drop_path(y)


class LayerNorm2d(nn.LayerNorm):
    """Channels-first LayerNorm as torchvision and timm write it: permute, layer_norm, permute."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class MixConv(nn.Module):
    """MixNet's mixed depthwise convolution: unequal channel splits, one kernel size each."""

    def __init__(self, splits: tuple[int, ...] = (8, 8, 16)) -> None:
        super().__init__()
        self.splits = list(splits)
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3 + 2 * i, padding=1 + i, groups=c, bias=False)
                                   for i, c in enumerate(splits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = torch.split(x, self.splits, 1)
        return torch.cat([conv(t) for conv, t in zip(self.convs, xs)], 1)


class Res2Block(nn.Module):
    """Res2Net's hierarchical split: each piece adds the previous piece's output."""

    def __init__(self, c: int = 32, scale: int = 4) -> None:
        super().__init__()
        w = c // scale
        self.convs = nn.ModuleList(nn.Conv2d(w, w, 3, padding=1, bias=False) for _ in range(scale - 1))
        self.width = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spx = torch.split(x, self.width, 1)
        out = []
        sp = spx[0]
        for i, conv in enumerate(self.convs):
            sp = conv(spx[i] if i == 0 else sp + spx[i])
            out.append(sp)
        out.append(spx[-1])
        return torch.cat(out, 1)


class Res2Bottleneck(nn.Module):
    """timm's Res2Net block: two lists (convs, bns) whose items run interleaved, with the shared ReLU."""

    def __init__(self, c: int = 32, scale: int = 4) -> None:
        super().__init__()
        w = c // scale
        self.convs = nn.ModuleList(nn.Conv2d(w, w, 3, padding=1, bias=False) for _ in range(scale - 1))
        self.bns = nn.ModuleList(nn.BatchNorm2d(w) for _ in range(scale - 1))
        self.relu = nn.ReLU(inplace=True)
        self.width = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spx = torch.split(x, self.width, 1)
        spo = []
        sp = spx[0]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            sp = self.relu(bn(conv(sp if i == 0 else sp + spx[i])))
            spo.append(sp)
        return torch.cat([*spo, spx[-1]], 1)


class Pick(nn.Module):
    """timm's SelectSeq: a leaf module that returns one item of the list it takes."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return xs[self.index]


class Lists(nn.Module):
    """HRNet's and FPN's lists: two ModuleLists of Sequentials called in turn, one reading the other's
    output, and a module picking an item of a Python list."""

    def __init__(self, c: int = 3, w: int = 8, n: int = 3) -> None:
        super().__init__()
        self.inner = nn.ModuleList(nn.Sequential(nn.Conv2d(c if i == 0 else w, w, 1), nn.BatchNorm2d(w))
                                   for i in range(n))
        self.outer = nn.ModuleList(nn.Sequential(nn.Conv2d(w, w, 3, padding=1), nn.ReLU()) for _ in range(n))
        self.pick = Pick(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for inner, outer in zip(self.inner, self.outer):
            x = outer(inner(x))
            outs.append(x)
        return self.pick(outs) + outs[-1]


class Views(nn.Module):
    """Reshapes of a permuted tensor, as attention blocks write them: one its strides allow a view of
    (merging H and W), one PyTorch copies first (merging W with the channels); and attention over
    heads whose batch axes are permuted, so that matmul copies its operands and autograd keeps them."""

    def __init__(self, c: int = 3, w: int = 8, width: int = 32) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, w, 1)
        self.fc = nn.Linear(w, w)
        self.fc2 = nn.Linear(width * w, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.conv(x).permute(0, 2, 3, 1)              # [N, H, W, w], not contiguous
        tokens = t.reshape(t.shape[0], -1, t.shape[3])    # [N, H*W, w]: a view
        rows = t.flatten(2)                               # [N, H, W*w]: a copy, then a view
        q = self.fc(tokens)                               # copies its input first
        heads = q.reshape(t.shape[0], q.shape[1], 2, -1).permute(0, 2, 1, 3)  # [N, 2, H*W, w/2]
        att = (heads @ heads.transpose(-1, -2)).softmax(-1) @ heads          # copies heads first
        mixed = att.transpose(1, 2).reshape(t.shape[0], -1, q.shape[2])      # [N, H*W, w]
        return q.mean(1) + self.fc2(rows).mean(1) + mixed.mean(1)


class Heads(nn.Module):
    """Attention on q, k, v chunked from one convolution: channel slices, contiguous at batch 1 only,
    which matmul copies at a larger batch to fold the heads into the batch (autograd keeps the copy)."""

    def __init__(self, c: int = 3, w: int = 8) -> None:
        super().__init__()
        self.qkv = nn.Conv2d(c, 3 * w, 1)
        self.proj = nn.Conv2d(w, w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        q, k, v = (t.reshape(n, 2, -1, h * w) for t in self.qkv(x).chunk(3, dim=1))  # [N, 2, w/2, M]
        att = (q.transpose(-1, -2) @ k).softmax(-1)                                  # [N, 2, M, M]
        return self.proj((v @ att.transpose(-1, -2)).reshape(n, -1, h, w))


class SliceNorm(nn.Module):
    """SHViT's partial attention: a GroupNorm on a channel slice, which torch.group_norm copies to
    contiguous memory before its kernel (the copy is what autograd keeps)."""

    def __init__(self, c: int = 3, w: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, w, 3, padding=1)
        self.norm = nn.GroupNorm(2, w // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = torch.split(self.conv(x), [8, 8], dim=1)
        return torch.cat([self.norm(x1), x2], 1)


class SamePool(nn.Module):
    """timm's MaxPool2dSame (NASNet, PNASNet): TF's 'same' padding, with -inf, then max pooling."""

    def __init__(self, c: int = 3, w: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, w, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        # TF's SAME for k 3, s 2: total max((⌈n/2⌉ − 1)·2 + 3 − n, 0), the odd one after
        h, w = x.shape[-2:]
        ph, pw = (max((-(-n // 2) - 1) * 2 + 3 - n, 0) for n in (h, w))
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value=-float("inf"))
        return F.max_pool2d(x, 3, 2)


class Mixers(nn.Module):
    """PoolFormer's token mixer ``pool(x) - x``, GCNet's global-context term added by broadcasting, and
    EvoNorm's cast of a tensor to the dtype it has."""

    def __init__(self, c: int = 3, w: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, w, 3, padding=1)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.context = nn.Conv2d(w, w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).to(x.dtype)                              # a cast to its own dtype: x itself
        x = x + (self.pool(x) - x)
        return x + self.context(x.mean((2, 3), keepdim=True))   # [N, w, H, W] + [N, w, 1, 1]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """torchvision's ShuffleNetV2 channel shuffle."""
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class SelectiveKernelAttn(nn.Module):
    """timm's SelectiveKernelAttn: a sum over the paths, pooling, a squeeze, a softmax across the paths."""

    def __init__(self, c: int, num_paths: int = 2, attn_c: int = 8) -> None:
        super().__init__()
        self.num_paths = num_paths
        self.fc_reduce = nn.Conv2d(c, attn_c, 1, bias=False)
        self.bn = nn.BatchNorm2d(attn_c)
        self.act = nn.ReLU(inplace=True)
        self.fc_select = nn.Conv2d(attn_c, c * num_paths, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.sum(1).mean((2, 3), keepdim=True)
        x = self.fc_select(self.act(self.bn(self.fc_reduce(x))))
        b, c, h, w = x.shape
        x = x.view(b, self.num_paths, c // self.num_paths, h, w)
        return torch.softmax(x, dim=1)


class SelectiveKernel(nn.Module):
    """timm's SelectiveKernel (SKNet): dilated paths stacked at dim 1, weighted by the attention, summed."""

    def __init__(self, c: int, out_c: int, split_input: bool = True) -> None:
        super().__init__()
        self.in_channels, self.num_paths, self.split_input = c, 2, split_input
        in_c = c // 2 if split_input else c
        # timm's keep_3x3: a 5x5 kernel becomes a 3x3 of dilation 2
        self.paths = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_c, out_c, 3, padding=d, dilation=d, bias=False), *_bn_act(out_c))
            for d in (1, 2))
        self.attn = SelectiveKernelAttn(out_c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split_input:
            x_split = torch.split(x, self.in_channels // self.num_paths, 1)
            x_paths = [op(x_split[i]) for i, op in enumerate(self.paths)]
        else:
            x_paths = [op(x) for op in self.paths]
        x = torch.stack(x_paths, dim=1)
        x = x * self.attn(x)
        return torch.sum(x, dim=1)


class RadixSoftmax(nn.Module):
    """timm's RadixSoftmax: a softmax across the radix of each cardinal group."""

    def __init__(self, radix: int, cardinality: int) -> None:
        super().__init__()
        self.radix, self.cardinality = radix, cardinality

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.size(0)
        x = x.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
        x = F.softmax(x, dim=1)
        return x.reshape(batch, -1)


class SplitAttn(nn.Module):
    """timm's SplitAttn (ResNeSt): radix paths in one grouped conv, summed, gated by a radix softmax."""

    def __init__(self, c: int, radix: int = 2) -> None:
        super().__init__()
        self.radix = radix
        self.conv = nn.Conv2d(c, c * radix, 3, padding=1, groups=radix, bias=False)
        self.bn0, self.act0 = nn.BatchNorm2d(c * radix), nn.ReLU(inplace=True)
        self.fc1, self.bn1, self.act1 = nn.Conv2d(c, 8, 1), nn.BatchNorm2d(8), nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(8, c * radix, 1)
        self.rsoftmax = RadixSoftmax(radix, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act0(self.bn0(self.conv(x)))
        b, rc, h, w = x.shape
        x = x.reshape((b, self.radix, rc // self.radix, h, w))
        x_gap = x.sum(dim=1).mean((2, 3), keepdim=True)
        x_attn = self.fc2(self.act1(self.bn1(self.fc1(x_gap))))
        x_attn = self.rsoftmax(x_attn).view(b, -1, 1, 1)
        out = (x * x_attn.reshape((b, self.radix, rc // self.radix, 1, 1))).sum(dim=1)
        return out.contiguous()


class Kernels(nn.Module):
    """timm's selective kernel (with and without split input) and split attention on a small stem."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), *_bn_act(16))
        self.sk = SelectiveKernel(16, 16)
        self.sk_split = SelectiveKernel(16, 24, split_input=False)
        self.split_attn = SplitAttn(24)
        self.head = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.split_attn(self.sk_split(self.sk(self.stem(x))))
        return self.head(x.mean((2, 3)))


class MHSA(nn.Module):
    """BoTNet's multi-head self-attention as its popular PyTorch port writes it (content only): q·kᵀ, softmax, v·aᵀ."""

    def __init__(self, c: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Conv2d(c, c, 1) for _ in range(3))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_batch, c, width, height = x.size()
        q = self.query(x).view(n_batch, self.heads, c // self.heads, -1)
        k = self.key(x).view(n_batch, self.heads, c // self.heads, -1)
        v = self.value(x).view(n_batch, self.heads, c // self.heads, -1)
        content_content = torch.matmul(q.permute(0, 1, 3, 2), k)  # [B, heads, HW, HW]
        attention = self.softmax(content_content)
        out = torch.matmul(v, attention.permute(0, 1, 3, 2))  # [B, heads, dh, HW]
        return out.view(n_batch, c, width, height)


class GlobalContext(nn.Module):
    """timm's GlobalContext (GCNet): attention pooling with ``@``, then a scaling MLP gate."""

    def __init__(self, c: int = 16, rd: int = 4) -> None:
        super().__init__()
        self.conv_attn = nn.Conv2d(c, 1, 1, bias=True)
        self.mlp_scale = nn.Sequential(nn.Conv2d(c, rd, 1), LayerNorm2d(rd), nn.ReLU(inplace=True), nn.Conv2d(rd, c, 1))
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        attn = self.conv_attn(x).reshape(b, 1, h * w)  # (B, 1, H * W)
        attn = F.softmax(attn, dim=-1).unsqueeze(3)  # (B, 1, H * W, 1)
        context = x.reshape(b, c, h * w).unsqueeze(1) @ attn
        context = context.view(b, c, 1, 1)
        return x * self.gate(self.mlp_scale(context))


class Attentions(nn.Module):
    """Attention written with matmul: BoTNet's MHSA, timm's global context, a batched torch.bmm."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 4, 1, bias=False), *_bn_act(16))
        self.mhsa = MHSA()
        self.gc = GlobalContext()
        self.proj = nn.Conv2d(16, 8, 1)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gc(self.mhsa(self.stem(x)))
        y = self.proj(x).flatten(2)  # [B, 8, HW]
        gram = torch.bmm(y, y.transpose(1, 2))  # [B, 8, 8]: a bilinear-pooling Gram matrix
        return self.head(gram.flatten(1))


class Gates(nn.Module):
    """SE and ECA gates, split attention and space-to-depth, on a small stem."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
        self.se = SqueezeExcite(16)
        self.eca = ECA()
        self.split_attn = SplitAttention(16)
        self.s2d = SpaceToDepth()
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.split_attn(self.eca(self.se(self.stem(x))))
        x = self.s2d(x)
        return self.head(x.mean((2, 3)))


class Mixed(nn.Module):
    """Unequal splits, channel shuffle (module and idiom), interpolation, layer scale, both LayerNorms."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.norm = LayerNorm2d(32)
        self.mix = MixConv()
        self.shuffle = nn.ChannelShuffle(4)
        self.res2 = Res2Block()
        self.block = ConvNeXtBlock(32)
        self.down = nn.Sequential(nn.Conv2d(32, 64, 2, stride=2), *_bn_act(64))
        self.unshuffle = nn.PixelUnshuffle(2)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.stem(x))
        x = self.shuffle(self.mix(x))
        x = channel_shuffle(self.res2(x), 2)
        x = self.block(x)
        y = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.interpolate(y, size=x.shape[-2:], mode="nearest")
        x = self.down(x + y)
        x = self.unshuffle(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(self.drop(x))


class Classic(nn.Module):
    """Pooling with ceil_mode and count_include_pad, zero padding, transposed conv, PReLU, GroupNorm, softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 0, 1, 0))
        self.conv = nn.Conv2d(3, 8, 3, stride=2, dilation=1)
        self.gn = nn.GroupNorm(2, 8)
        self.act = nn.PReLU(8)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.act2 = nn.Hardswish()
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avg(self.pool(self.act(self.gn(self.conv(self.pad(x))))))
        x = self.act2(self.inorm(self.up(x)))
        x = x.amax((2, 3))
        return self.fc(x).softmax(-1)


class SimpleNorm(nn.Module):
    """timm's SimpleNorm (layers/fast_norm.py simple_norm): x · rsqrt(var(x) + eps) · w over the last axis."""

    def __init__(self, c: int, affine: bool = True, unbiased: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.rand(c)) if affine else None
        self.unbiased = unbiased

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(torch.var(x, dim=-1, keepdim=True, unbiased=self.unbiased) + 1e-6)
        return x * self.weight if self.weight is not None else x


class SimpleNorm2d(SimpleNorm):
    """timm's SimpleNorm2d: permute to channels-last, SimpleNorm, permute back (ConvNeXt *_rms)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class RmsNorm2d(nn.Module):
    """timm's RmsNorm2d (rms_norm2d): x · rsqrt(mean(x², dim 1) + eps) · w.reshape(1, -1, 1, 1)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.rand(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(torch.mean(x.pow(2), dim=1, keepdim=True) + 1e-5)
        return x * self.weight.reshape(1, -1, 1, 1)


class FilterResponseNorm(nn.Module):
    """timm's FilterResponseNormTlu2d: x · rsqrt(mean(x², (H, W)) + eps) · w + b, then max(., tau)."""

    def __init__(self, c: int, tlu: bool = True) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.rand(c)), nn.Parameter(torch.rand(c))
        self.tau = nn.Parameter(torch.rand(c)) if tlu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_dtype = x.dtype
        rms = x.square().float().mean(dim=(2, 3), keepdim=True).add(1e-5).rsqrt().to(x_dtype)
        x = x * rms.expand(x.shape)
        x = x * self.weight.view(1, -1, 1, 1).to(dtype=x_dtype) + self.bias.view(1, -1, 1, 1).to(dtype=x_dtype)
        return torch.maximum(x, self.tau.reshape(1, -1, 1, 1).to(dtype=x_dtype)) if self.tau is not None else x


class GroupNorm1NoBias(nn.GroupNorm):
    """PoolFormerV2's GroupNorm1NoBias: one group, a weight, the bias set to None."""

    def __init__(self, c: int) -> None:
        super().__init__(1, c, eps=1e-6)
        self.bias = None


class LayerNorm2dNoBias(nn.LayerNorm):
    """MetaFormer's LayerNorm2dNoBias: LayerNorm over the channels of [N, C, H, W], no bias."""

    def __init__(self, c: int) -> None:
        super().__init__(c, eps=1e-6, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class LearnableAffineBlock(nn.Module):
    """HGNetV2's LearnableAffineBlock: scale · x + bias, each a parameter of shape [1]."""

    def __init__(self) -> None:
        super().__init__()
        self.scale, self.bias = nn.Parameter(torch.tensor([1.5])), nn.Parameter(torch.tensor([0.1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.bias


class StarReLU(nn.Module):
    """MetaFormer's StarReLU: scale · relu(x) ** 2 + bias, the ReLU a module of its own, scale and bias of shape [1]."""

    def __init__(self) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.scale, self.bias = nn.Parameter(torch.tensor([0.8])), nn.Parameter(torch.tensor([-0.2]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.relu(x) ** 2 + self.bias


class Norms(nn.Module):
    """The norms real CNNs use beyond BatchNorm: SimpleNorm (2d, and channels-last without a weight),
    RmsNorm2d, nn.RMSNorm, filter response norm (with and without its TLU), GroupNorm and LayerNorm2d
    with a weight and no bias; HGNetV2's learnable scalar affine, MetaFormer's StarReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.frn = FilterResponseNorm(8)
        self.frn_act = nn.Sequential(FilterResponseNorm(8, tlu=False), nn.ReLU())
        self.gn = GroupNorm1NoBias(8)
        self.lab = LearnableAffineBlock()
        self.act = StarReLU()
        self.ln2d = LayerNorm2dNoBias(8)
        self.sn2d = SimpleNorm2d(8)
        self.rms2d = RmsNorm2d(8)
        self.sn = SimpleNorm(8, affine=False)
        self.rms = nn.RMSNorm(8, eps=1e-6)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.frn_act(self.frn(self.stem(x)))
        x = self.rms2d(self.sn2d(self.ln2d(self.act(self.lab(self.gn(x))))))
        x = self.rms(self.sn(x.permute(0, 2, 3, 1)))
        return self.fc(x.mean((1, 2)))
class StdConv2d(nn.Conv2d):
    """BiT's weight-standardised convolution as timm writes it: F.batch_norm over each output channel's weights."""

    def __init__(self, *args: int, bias: bool = False, eps: float = 1e-6) -> None:
        super().__init__(*args, bias=bias)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True,
                              momentum=0.0, eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ScaledStdConv2d(nn.Conv2d):
    """NF-Nets' convolution as timm writes it: standardised, times a gain·γ/√fan-in; ``same``: TF's padding first."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1, gamma: float = 1.0, same: bool = False) -> None:
        super().__init__(c_in, c_out, k, stride, padding=0 if same else k // 2)
        self.same = same
        self.gain = nn.Parameter(torch.ones(c_out, 1, 1, 1))
        self.scale = gamma * self.weight[0].numel() ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            # TensorFlow's SAME: total padding max((⌈n/s⌉ − 1)·s + k − n, 0), the odd one after
            (h, w), (k, _), (s, _) = x.shape[-2:], self.kernel_size, self.stride
            ph, pw = (max((-(-n // s) - 1) * s + k - n, 0) for n in (h, w))
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              weight=(self.gain * self.scale).view(-1), training=True, momentum=0.0,
                              eps=1e-5).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Standardised(nn.Module):
    """Weight-standardised convolutions: BiT's (with GroupNorm), NF-Nets' (scaled, TF-same padding, skip-init)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = StdConv2d(3, 16, 3, 2, 1, eps=1e-8)
        self.gn = nn.GroupNorm(4, 16)
        self.act = nn.ReLU()
        self.conv1 = ScaledStdConv2d(16, 16, 3, gamma=1.7139588594436646)
        self.conv2 = ScaledStdConv2d(16, 32, 3, stride=2, same=True)
        self.skipinit_gain = nn.Parameter(torch.ones(()))  # DeepMind's NF-Net: one learnable value
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.gn(self.stem(x)))
        x = self.conv2(F.gelu(self.conv1(x)))
        x.mul_(self.skipinit_gain)
        return self.head(x.mean((2, 3)))
class BlurPool(nn.Module):
    """timm's BlurPool2d: reflect padding, then a fixed binomial filter per channel (a buffer) with stride 2."""

    def __init__(self, channels: int, bias: bool = False) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("filt", (taps[:, None] * taps[None, :] / 16).repeat(channels, 1, 1, 1), persistent=False)
        self.register_buffer("shift", torch.zeros(channels) if bias else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, [1, 1, 1, 1], mode="reflect")
        return F.conv2d(x, self.filt, self.shift, stride=2, groups=x.shape[1])


class Padded(nn.Module):
    """Reflection, replication and circular padding, as modules, F.pad and conv padding modes; blur pooling;
    a BatchNorm1d on [N, C]."""

    def __init__(self) -> None:
        super().__init__()
        self.reflect = nn.ReflectionPad2d((2, 1, 0, 3))
        self.conv = nn.Conv2d(3, 8, 3, padding=1, padding_mode="replicate")
        self.blur = BlurPool(8)
        self.circ = nn.Conv2d(8, 8, 3, padding=1, padding_mode="circular")
        self.replicate = nn.ReplicationPad2d(1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=(1, 2), padding_mode="reflect")
        self.blur2 = BlurPool(8, bias=True)
        self.circular = nn.CircularPad2d((1, 0, 2, 1))
        self.bn = nn.BatchNorm1d(8)  # on [N, C], as RepViT's classifier
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blur(self.conv(self.reflect(x)))
        x = self.conv2(self.replicate(self.circ(x)))
        x = F.pad(self.circular(self.blur2(x)), [0, 1, 1, 0], mode="replicate")
        return self.fc(self.bn(x.mean((2, 3))))


class GRN(nn.Module):
    """timm's GlobalResponseNorm: the L2 norm over positions over its channel mean, then addcmul."""

    def __init__(self, dim: int, channels_last: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.spatial_dim, self.channel_dim = ((1, 2), -1) if channels_last else ((2, 3), 1)
        self.wb_shape = (1, 1, 1, -1) if channels_last else (1, -1, 1, 1)
        self.weight = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_g = x.norm(p=2, dim=self.spatial_dim, keepdim=True)
        x_n = x_g / (x_g.mean(dim=self.channel_dim, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(self.wb_shape), self.weight.view(self.wb_shape), x * x_n)


class PaperGRN(nn.Module):
    """ConvNeXt-V2's GRN as its authors' code writes it (channels-last): γ·(x·N) + β + x."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class Responses(nn.Module):
    """Global response normalisation: timm's channels-first and channels-last, and the paper's; SSD's L2Norm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.scale_weight = nn.Parameter(torch.ones(8) * 20)
        self.grn = GRN(8, channels_last=False, eps=1e-5)
        self.fc1 = nn.Linear(8, 16)
        self.grn2 = GRN(16)
        self.grn3 = PaperGRN(16)
        self.fc2 = nn.Linear(16, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.grn(self.scale_weight.view(1, -1, 1, 1) * F.normalize(self.conv(x))).permute(0, 2, 3, 1)
        x = self.fc2(self.grn3(self.grn2(self.fc1(x))))
        return x.permute(0, 3, 1, 2).mean((2, 3))


# ---------------------------------------------------------------------------------------------
# what must be refused


class HalfFixed(nn.Module):
    """A convolution with a fixed weight (a buffer) but a learnable bias."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filt", torch.ones(4, 3, 3, 3))
        self.bias = nn.Parameter(torch.zeros(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.filt, self.bias)


class WSConv2d(nn.Conv2d):
    """A weight standardised in forward, then times a gain (not timm's form: the product is saved too)."""

    def __init__(self, *args: int) -> None:
        super().__init__(*args)
        self.gain = nn.Parameter(torch.ones(self.out_channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True,
                         momentum=0.0, eps=1e-6).reshape_as(self.weight) * self.gain
        return F.conv2d(x, w, self.bias)


class QiaoWSConv2d(nn.Conv2d):
    """Weight standardisation as its paper's code writes it: mean and std by hand, the std unbiased, eps outside."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True)
        w = w / (w.view(w.size(0), -1).std(dim=1).view(-1, 1, 1, 1) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class Attention(nn.Module):
    """A self-attention block over the positions written with ``@`` (BoTNet, MobileViT)."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.qkv = nn.Conv2d(c, 3 * c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).flatten(2).chunk(3, dim=1)
        attn = (q.transpose(1, 2) @ k).softmax(-1)
        return (v @ attn.transpose(1, 2)).view(b, c, h, w)


class Sdpa(nn.Module):
    """Attention through F.scaled_dot_product_attention (FlopCounterMode counts 0 for it on the CPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.flatten(2).transpose(1, 2)
        return F.scaled_dot_product_attention(y, y, y)


class Pooled(nn.Module):
    """A pooled vector times a matrix: the batch would broadcast against a matrix axis."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) @ x.flatten(2)


class Bias(nn.Module):
    """A learnable bias added to an activation (timm's Affine)."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.beta


class Shared(nn.Module):
    """One convolution applied twice: its weights would be counted twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.conv(x))


class Unused(nn.Module):
    """An auxiliary head that forward never runs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.aux = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FixedUp(nn.Module):
    """Upsampling by a transposed convolution with a fixed (bilinear) filter, a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filt", torch.ones(3, 1, 4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.filt, stride=2, padding=1, groups=3)


REFUSED = {
    "fixed transposed conv": (FixedUp, "aten.conv_transpose2d", "fixed filter (a buffer) has no cnncalc layer"),
    "padding with NaN": (lambda: nn.Sequential(nn.ConstantPad2d(1, float("nan"))), "aten.pad", "padding with NaN"),
    "fixed weight, learnable bias": (HalfFixed, "aten.conv2d", "a fixed weight (a buffer) and a learnable bias"),
    "weight standardisation times a gain": (lambda: nn.Sequential(WSConv2d(3, 4, 3)), "aten.batch_norm",
                               "parameter '0.weight' in forward"),
    "hand-written weight standardisation": (lambda: nn.Sequential(QiaoWSConv2d(3, 4, 3)), "aten.mean",
                                            "computes on the parameter '0.weight' in forward"),
    "fused attention": (lambda: nn.Sequential(Sdpa()), "aten.scaled_dot_product_attention", "attention"),
    "matmul of a vector": (lambda: nn.Sequential(Pooled()), "aten.matmul", "one rank with the batch first"),
    "mish": (lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.Mish()), "aten.mish", "Mish"),
    "biased variance norm": (lambda: nn.Sequential(SimpleNorm2d(3, unbiased=False)), "aten.var",
                             "no cnncalc layer computes"),
    "learnable bias": (lambda: nn.Sequential(Bias()), "aten.add", "learnable tensor"),
    "shared weights": (Shared, "aten.conv2d", "shared weights"),
    "hardtanh": (lambda: nn.Sequential(nn.Hardtanh(-2.0, 2.0)), "aten.hardtanh", "hardtanh over [-2, 2]"),
}
