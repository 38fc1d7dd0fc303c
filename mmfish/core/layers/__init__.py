"""Layers the backbones share: split attention, the channels-last helpers."""
from .memory_format import ToContiguous, is_channels_last, sum_channel_groups
from .split_attention import SplitAttentionConv2d

__all__ = ['SplitAttentionConv2d', 'ToContiguous', 'is_channels_last', 'sum_channel_groups']
