"""Deformable convolutions (mmcv's ``DCN`` and ``DCNv2``) as the backbones build them.

mmdet's ResNet contract: ``dcn=dict(type='DCN' | 'DCNv2', deform_groups=1,
fallback_on_stride=False)`` replaces a block's 3x3 convolution in the stages that
``stage_with_dcn`` marks. The layers are mmcv's ``DeformConv2dPack`` and
``ModulatedDeformConv2dPack`` (same parameters and state-dict keys: ``weight``,
``conv_offset.weight``, ``conv_offset.bias``), with one change: mmcv's kernels read their
input, offsets and weights as contiguous NCHW memory (``DCN`` refuses a channels-last tensor;
``DCNv2`` silently computes a wrong result on one), so the subclasses here hand them NCHW
tensors (their kernel weights stay NCHW under ``model.to(memory_format=...)``) and give
their output back in the input's memory format. The backbones' channels-last
mode (``channels_last=True``) therefore works with deformable convolutions.

``mmcv.ops`` is imported only when a deformable convolution is built.
"""
import torch

from .memory_format import is_channels_last

__all__ = ['DCN_TYPES', 'build_dcn_conv', 'dcn_for_stride', 'nchw_safe']

#: the deformable convolution types of mmcv's conv registry that the backbones take
DCN_TYPES = ('DCN', 'DCNv2')
_CLASS_NAMES = {'DeformConv2dPack': 'DeformConv2dPackNCHW',
                'ModulatedDeformConv2dPack': 'ModulatedDeformConv2dPackNCHW'}


def _layout(x):
    return torch.channels_last if is_channels_last(x) else torch.contiguous_format


def _forward_dcn(self, x):
    from mmcv.ops import DeformConv2d
    layout = _layout(x)
    x = x.contiguous()
    # DeformConv2d.forward pads inputs smaller than the kernel (the Pack's forward does not)
    out = DeformConv2d.forward(self, x, self.conv_offset(x).contiguous())
    return out.contiguous(memory_format=layout)


def _forward_modulated_dcn(self, x):
    from mmcv.ops import modulated_deform_conv2d
    layout = _layout(x)
    x = x.contiguous()
    o1, o2, mask = torch.chunk(self.conv_offset(x), 3, dim=1)
    offset = torch.cat((o1, o2), dim=1).contiguous()
    mask = torch.sigmoid(mask).contiguous()
    out = modulated_deform_conv2d(x, offset, mask, self.weight, self.bias, self.stride,
                                  self.padding, self.dilation, self.groups, self.deform_groups)
    return out.contiguous(memory_format=layout)


def _apply_nchw(self, fn, *args, **kwargs):
    """``nn.Module._apply`` (``to``, ``cuda``, ``half``, ...), keeping the kernel weight in
    NCHW memory whatever memory format is asked for (``model.to(memory_format=...)``)."""
    ours = next(c for c in type(self).__mro__ if c.__dict__.get('_apply') is _apply_nchw)
    result = super(ours, self)._apply(fn, *args, **kwargs)
    if not self.weight.is_contiguous():
        self.weight.data = self.weight.data.contiguous()
    return result


def _define():
    """Create the NCHW-safe subclasses (imports mmcv.ops) as globals of this module, so that
    models holding them pickle and deep-copy."""
    from mmcv.ops import DeformConv2dPack, ModulatedDeformConv2dPack
    for base, forward in ((DeformConv2dPack, _forward_dcn),
                          (ModulatedDeformConv2dPack, _forward_modulated_dcn)):
        name = _CLASS_NAMES[base.__name__]
        if name not in globals():
            doc = (f"mmcv's {base.__name__} that reads NCHW memory whatever the memory format "
                   f'of its input, parameters and offsets (see :mod:`{__name__}`)')
            globals()[name] = type(name, (base, ), dict(
                forward=forward, _apply=_apply_nchw, __module__=__name__, __qualname__=name,
                __doc__=doc))


def __getattr__(name):  # PEP 562: the subclasses exist once mmcv.ops is imported
    if name in _CLASS_NAMES.values():
        _define()
        return globals()[name]
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def nchw_safe(layer):
    """``layer`` itself, its class switched to the NCHW-safe subclass when it is one of mmcv's
    deformable convolutions (nothing else changes: parameters, buffers and keys stay)."""
    name = _CLASS_NAMES.get(type(layer).__name__)
    if name is not None and type(layer).__module__.startswith('mmcv.ops'):
        _define()
        layer.__class__ = globals()[name]
    return layer


def dcn_for_stride(dcn, stride: int):
    """The conv config of one 3x3 convolution: ``dcn`` without ``fallback_on_stride``, or None
    (a regular convolution) where ``fallback_on_stride`` is set and the convolution strides."""
    if dcn is None or (dcn.get('fallback_on_stride', False) and stride > 1):
        return None
    return {k: v for k, v in dcn.items() if k != 'fallback_on_stride'}


def build_dcn_conv(dcn, *args, **kwargs):
    """``mmcv.cnn.build_conv_layer(dcn, ...)``, NCHW-safe (see :func:`nchw_safe`)."""
    import mmcv.ops  # noqa: F401  (registers DCN and DCNv2 as conv layers)
    from mmcv.cnn import build_conv_layer
    return nchw_safe(build_conv_layer(dict(dcn), *args, **kwargs))
