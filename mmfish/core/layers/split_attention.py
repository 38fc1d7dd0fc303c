"""Split attention (ResNeSt): a convolution with ``radix`` splits per cardinal group, weighted
by a softmax over the splits computed from their pooled sum."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer

from ..checks import fewer_groups
from .dcn import build_dcn_conv
from .memory_format import is_channels_last


def attention_channels(channels: int, radix: int, reduction_factor: int) -> int:
    """The hidden channels of the attention (``fc1``) of a ``channels``-wide convolution."""
    return max(channels * radix // reduction_factor, 32)


class SplitAttentionConv2d(nn.Module):
    """A convolution with ``radix`` splits per cardinal group and attention over the splits.

    Module names (``conv``, ``bn0``, ``fc1``, ``bn1``, ``fc2``) follow the official model.
    With ``dcn`` (an mmcv ``DCN`` / ``DCNv2`` config) ``conv`` is a deformable convolution, as
    in mmdet's and detectron2's ResNeSt. The attention's norm (``bn1``) normalises the pooled
    features, one value per channel and image: ``attention_norm_cfg`` (default: ``norm_cfg``)
    chooses it on its own, e.g. GroupNorm for one image per GPU.
    """

    def __init__(self, in_channels, channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, radix=2, reduction_factor=4, conv_cfg=None, norm_cfg=dict(type='BN'),
                 dcn=None, attention_norm_cfg=None):
        super().__init__()
        inter_channels = attention_channels(in_channels, radix, reduction_factor)
        self.radix = radix
        self.inter_channels = inter_channels
        self.groups = groups
        self.channels = channels
        build = build_conv_layer if dcn is None else build_dcn_conv
        self.conv = build(conv_cfg if dcn is None else dcn, in_channels, channels * radix,
                          kernel_size, stride=stride, padding=padding, dilation=dilation,
                          groups=groups * radix, bias=False)
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(attention_norm_cfg or norm_cfg,
                                                  inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=groups)

    def forward(self, x):
        x = self.relu(getattr(self, self.norm0_name)(self.conv(x)))
        batch = x.shape[0]
        if self.radix == 1:
            attn = self._attention(F.adaptive_avg_pool2d(x, 1))
            return x * attn.sigmoid()
        if is_channels_last(x):
            # a (B, H, W, radix, C) view: one product and one reduction keep the layout
            splits = x.permute(0, 2, 3, 1).unflatten(3, (self.radix, self.channels))
            gap = splits.sum(3).mean((1, 2)).view(batch, self.channels, 1, 1)
            attn = self._attention(gap).view(batch, 1, 1, self.radix, self.channels)
            return (splits * attn).sum(3).permute(0, 3, 1, 2)
        splits = x.unflatten(1, (self.radix, self.channels))  # B, radix, C, H, W
        gap = F.adaptive_avg_pool2d(splits.sum(1), 1)
        attn = self._attention(gap).view(batch, self.radix, self.channels, 1, 1)
        return (splits * attn).sum(1)

    def explain_one_value_norm(self, name):
        """Why the child ``name`` may see one value per channel (a BatchNorm) or per group (a
        GroupNorm), and the remedies (see
        :meth:`mmfish.core.base.BackboneBase.explain_norm_error`)."""
        if name != self.norm1_name:
            return None
        channels = self.inter_channels
        # the most groups that leave two or more channels each: 16 for the 32 channels of
        # layer1's attention at the default widths (32, 64, 128, 256 in layer1..4)
        fewer = fewer_groups(channels) or 1
        group_norm = ("for the attention (attention_norm_cfg=dict(type='GN', "
                      f'num_groups={fewer}): num_groups dividing the channels of every '
                      f'attention norm, {channels} here, and leaving two or more channels per '
                      'group)')
        norm = getattr(self, name)
        if isinstance(norm, nn.GroupNorm):
            return ("ResNeSt's split attention normalises the globally pooled features, one "
                    'value per channel and image, and this GroupNorm puts each of its '
                    f'{channels} channels in a group of its own (num_groups={norm.num_groups}), '
                    'so with one image (batch 1) each group holds a single value',
                    f"fewer groups {group_norm}, or SyncBN across several GPUs "
                    "(attention_norm_cfg=dict(type='SyncBN'))")
        return ("ResNeSt's split attention normalises the globally pooled features, one value "
                'per channel and image, so with one image per GPU (batch 1) a BatchNorm there '
                'has a single value per channel to normalise',
                "SyncBN across several GPUs (norm_cfg=dict(type='SyncBN') or only for the "
                f"attention attention_norm_cfg=dict(type='SyncBN')), GroupNorm {group_norm}, "
                'or two or more images per GPU')

    def _attention(self, gap):
        """(B, C, 1, 1) pooled features to (B, radix, C) weights (softmax over the radix
        within each cardinal group), or (B, C, 1, 1) logits for ``radix=1``."""
        gap = self.relu(getattr(self, self.norm1_name)(self.fc1(gap)))
        attn = self.fc2(gap)  # B, groups * radix * (C / groups): radix inside each group
        if self.radix == 1:
            return attn
        attn = attn.view(gap.shape[0], self.groups, self.radix, self.channels // self.groups)
        attn = attn.transpose(1, 2)
        return attn.softmax(dim=1).reshape(gap.shape[0], self.radix, self.channels)
