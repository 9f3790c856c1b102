"""torchvision classifiers with trained-like weights, for the int8 comparisons of bench/quantize/.

torchvision's untrained models have BatchNorm at its defaults (weight 1, bias 0, running mean 0,
running variance 1): folded into the convolutions every bias is zero, the exporter shares one zero
initializer between convolutions, and that alone decides what onnxruntime's quantizer can fuse.
Trained models have neither. Here, with no download: BatchNorm's weight and bias are drawn
(gamma ~ U(0.5, 1.5), beta ~ N(0, 0.2)), then its running statistics are measured the way
training measures them, over 64 seeded images (smooth random fields, the first-order statistics
of natural images), so that each layer's activations are centred and scaled as in a trained net.

    ferry export bench/quantize/trained_like.py:resnet18 --input-shape 1,3,224,224 --to onnx \
        --opset 13 --dynamic-batch -o resnet18.onnx
"""
import torch
import torchvision


def _images(count=64, size=224, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, 7, 7, generator=g)
    fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    noise = 0.05 * torch.randn(count, 3, size, size, generator=g)
    x = (fine + noise).clamp(0, 1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def _trained_like(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.num_features, generator=g))
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for batch in _images().split(16):
            model(batch)
    return model.eval()


def resnet18():
    return _trained_like(torchvision.models.resnet18(weights=None))


def mobilenet_v2():
    return _trained_like(torchvision.models.mobilenet_v2(weights=None))
