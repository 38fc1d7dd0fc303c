"""A toolbox data preprocessor's channel flip and normalisation as graph operations, the
first step of every exported model (:mod:`.whole`, :mod:`.detector`)."""
import torch.nn as nn

__all__ = ['Preprocess']


class Preprocess(nn.Module):
    """A toolbox data preprocessor's channel flip and normalisation, as graph operations."""

    def __init__(self, preprocessor: nn.Module):
        super().__init__()
        # the flag's name in MMEngine (and mmdet, mmpose), mmseg and mmpretrain
        self.flip = any(getattr(preprocessor, name, False)
                        for name in ('_channel_conversion', 'channel_conversion', 'to_rgb'))
        self.normalize = bool(getattr(preprocessor, '_enable_normalize', False))
        if self.normalize:
            self.register_buffer('mean', preprocessor.mean.detach().clone().view(1, -1, 1, 1))
            self.register_buffer('std', preprocessor.std.detach().clone().view(1, -1, 1, 1))

    def forward(self, x):
        if self.flip:
            x = x.flip(1)
        return (x - self.mean) / self.std if self.normalize else x
