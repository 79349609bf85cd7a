"""DeepLabV3-style object/background segmenter on a ResNet-34 backbone, written from scratch.

Architecture (Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation",
2017, and the v3+ decoder of Chen et al., ECCV 2018):

- ResNet-34 (BasicBlocks 3-4-6-3). ``layer4`` keeps stride 1 and uses dilation 2 instead,
  so the deepest features sit at **output stride 16**.
- ASPP: a 1×1 branch, three 3×3 atrous branches and an image-pooling branch, concatenated
  and projected.
- An optional light decoder (v3+ style): the ASPP output, upsampled ×4, is fused with the
  stride-4 ``layer1`` features. It costs little and sharpens edges, which the boundary score
  and the codec's mask both care about (a pure ×16 bilinear upsampling rounds every corner).
- One logit channel: object (any labelled object) vs background.

Two knobs exist because the network is trained on a shared 2-core CPU with no pretrained
weights: ``width`` scales every channel count (full ResNet-34 is ~21 M parameters ≈ 43 MB in
fp16; the shipped weights must stay below 20 MB) and ``rates`` are the atrous rates, chosen
for our ~256 px inputs (feature maps of ~16 px, a third of DeepLab's 513 px crops, so the
paper's 6/12/18 are scaled down to keep the branches from degenerating to 1×1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

OUTPUT_STRIDE = 16
#: images are resized to this long side for the network (training store and inference)
NET_LONG_SIDE = 224
BLOCKS = (3, 4, 6, 3)  # ResNet-34
BASE_CHANNELS = (64, 128, 256, 512)


@dataclass
class DeepLabConfig:
    width: float = 0.5  # channel multiplier for the backbone
    aspp_channels: int = 128
    rates: tuple[int, ...] = field(default=(3, 6, 9))
    decoder: bool = True
    decoder_channels: int = 32

    def channels(self) -> tuple[int, ...]:
        return tuple(max(8, int(round(c * self.width / 8)) * 8) for c in BASE_CHANNELS)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rates"] = list(self.rates)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DeepLabConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "rates" in known:
            known["rates"] = tuple(int(r) for r in known["rates"])
        return cls(**known)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class BasicBlock(nn.Module):
    """The ResNet-18/34 residual block (two 3×3 convolutions)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        skip = x if self.down is None else self.down(x)
        return F.relu(out + skip, inplace=True)


def make_layer(cin: int, cout: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    # The first block of a dilated stage uses half the dilation (DeepLab's "multi-grid" off).
    layers = [BasicBlock(cin, cout, stride, max(1, dilation // 2) if stride == 1 else 1)]
    layers += [BasicBlock(cout, cout, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet34(nn.Module):
    """ResNet-34 trunk with output stride 16 (layer4 dilated instead of strided)."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        c = DeepLabConfig(width=width).channels()
        self.stem = nn.Sequential(
            nn.Conv2d(3, c[0], 7, 2, 3, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        )
        self.layer1 = make_layer(c[0], c[0], BLOCKS[0], 1, 1)  # stride 4
        self.layer2 = make_layer(c[0], c[1], BLOCKS[1], 2, 1)  # stride 8
        self.layer3 = make_layer(c[1], c[2], BLOCKS[2], 2, 1)  # stride 16
        self.layer4 = make_layer(c[2], c[3], BLOCKS[3], 1, 2)  # stride 16, dilation 2
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = self.layer1(self.stem(x))
        high = self.layer4(self.layer3(self.layer2(low)))
        return low, high


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel views at several receptive-field sizes."""

    def __init__(self, cin: int, cout: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList([conv_bn(cin, cout, 1)] + [conv_bn(cin, cout, 3, dilation=r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.ReLU(inplace=True))
        self.project = nn.Sequential(conv_bn(cout * (len(rates) + 2), cout, 1), nn.Dropout(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, dim=1))


class DeepLabV3(nn.Module):
    """Binary DeepLab: ``forward(x)`` returns object logits at the input's size.

    ``x`` is (N, 3, H, W) RGB in [0, 1]; any H, W works (odd sizes included): strided layers
    round up, and the logits are resized back to exactly (H, W).
    """

    mean: torch.Tensor  # ImageNet normalisation, registered as non-persistent buffers below
    std: torch.Tensor

    def __init__(self, config: DeepLabConfig | None = None) -> None:
        super().__init__()
        self.config = config or DeepLabConfig()
        cfg = self.config
        self.backbone = ResNet34(cfg.width)
        c = self.backbone.out_channels
        self.aspp = ASPP(c[3], cfg.aspp_channels, cfg.rates)
        if cfg.decoder:
            self.low_proj = conv_bn(c[0], cfg.decoder_channels, 1)
            self.fuse = nn.Sequential(
                conv_bn(cfg.aspp_channels + cfg.decoder_channels, cfg.aspp_channels),
                conv_bn(cfg.aspp_channels, cfg.aspp_channels),
            )
        else:
            self.fuse = conv_bn(cfg.aspp_channels, cfg.aspp_channels)
        self.classifier = nn.Conv2d(cfg.aspp_channels, 1, 1)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(stride-4 low-level features, stride-16 ASPP output)."""
        low, high = self.backbone((x - self.mean) / self.std)
        return low, self.aspp(high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        low, y = self.features(x)
        if self.config.decoder:
            y = F.interpolate(y, size=low.shape[-2:], mode="bilinear", align_corners=False)
            y = self.fuse(torch.cat([y, self.low_proj(low)], dim=1))
        else:
            y = self.fuse(y)
        logits = self.classifier(y)
        return F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
