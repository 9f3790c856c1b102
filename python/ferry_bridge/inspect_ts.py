"""`inspect`: what a TorchScript file holds — forward()'s signature, its code (the seed's
`traced_cell.code`), submodules, parameter count and bytes — for `ferry inspect MODEL.pt`."""
import torch

from ferry_bridge.cli import wrap_user


def _signature(module):
    schema = module.forward.schema
    args = [a for a in schema.arguments if a.name != "self"]
    return (
        [{"name": a.name, "type": str(a.type)} for a in args],
        [{"name": r.name or f"output_{i}", "type": str(r.type)} for i, r in enumerate(schema.returns)],
    )


def inspect(args):
    with wrap_user(f"loading {args.model} with torch.jit.load"):
        module = torch.jit.load(args.model, map_location="cpu")
    inputs, outputs = _signature(module)
    params = list(module.parameters())
    buffers = list(module.buffers())
    submodules = [
        {"name": name, "type": m.original_name}
        for name, m in module.named_modules()
        if name
    ]
    return {
        "format": "torchscript",
        "originalName": module.original_name,
        "inputs": inputs,
        "outputs": outputs,
        "parameters": sum(p.numel() for p in params),
        "parameterBytes": sum(p.numel() * p.element_size() for p in params),
        "buffers": sum(b.numel() for b in buffers),
        "submodules": submodules,
        "code": module.code,
    }
