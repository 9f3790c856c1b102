// Small models built with the IR, for quantization tests that need no PyTorch: a residual CNN
// (Conv-Relu-Conv-Add-Relu-MaxPool-GlobalAveragePool-Flatten-Gemm) and a float16 corner-case graph.
import { Model, Graph, Node, Tensor, ValueInfo, DataType, attr } from '../../dist/onnx/index.js';
import { seededRandom } from '../../dist/tensors/random.js';

/** A seeded uniform [-1, 1) generator (the project's mulberry32, stretched). */
export function rng(seed) {
  const r = seededRandom(seed);
  return () => r() * 2 - 1;
}

const floats = (name, dims, r, scale = 1) => Tensor.fromArray({ name, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * scale) });

/** x [batch,3,16,16] -> logits [batch,4]: two 3x3 convolutions with a residual Add, pooling, a Gemm. */
export function residualCnn(seed = 1) {
  const r = rng(seed);
  const c = 8;
  const conv = (name, input, output, cin) => new Node({
    opType: 'Conv', name, inputs: [input, `${name}.w`, `${name}.b`], outputs: [output],
    attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) },
  });
  const graph = new Graph({
    name: 'residual',
    inputs: [ValueInfo.tensor('x', DataType.FLOAT, ['batch', 3, 16, 16])],
    outputs: [ValueInfo.tensor('logits', DataType.FLOAT, ['batch', 4])],
    initializers: [
      floats('conv1.w', [c, 3, 3, 3], r, 0.4), floats('conv1.b', [c], r, 0.1),
      floats('conv2.w', [c, c, 3, 3], r, 0.2), floats('conv2.b', [c], r, 0.1),
      floats('conv3.w', [c, c, 3, 3], r, 0.2), floats('conv3.b', [c], r, 0.1),
      floats('fc.w', [4, c], r, 0.5), floats('fc.b', [4], r, 0.1),
    ],
    nodes: [
      conv('conv1', 'x', 'c1', 3),
      new Node({ opType: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] }),
      conv('conv2', 'r1', 'c2', c),
      new Node({ opType: 'Relu', name: 'relu2', inputs: ['c2'], outputs: ['r2'] }),
      conv('conv3', 'r2', 'c3', c),
      new Node({ opType: 'Add', name: 'add', inputs: ['c3', 'r1'], outputs: ['s'] }),
      new Node({ opType: 'Relu', name: 'relu3', inputs: ['s'], outputs: ['r3'] }),
      new Node({ opType: 'MaxPool', name: 'pool', inputs: ['r3'], outputs: ['p'], attributes: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } }),
      new Node({ opType: 'GlobalAveragePool', name: 'gap', inputs: ['p'], outputs: ['g'] }),
      new Node({ opType: 'Flatten', name: 'flatten', inputs: ['g'], outputs: ['f'] }),
      new Node({ opType: 'Gemm', name: 'fc', inputs: ['f', 'fc.w', 'fc.b'], outputs: ['logits'], attributes: { transB: attr.int(1) } }),
    ],
  });
  return new Model({ graph, opsetImports: new Map([['', 13]]), irVersion: 7 });
}

/**
 * A graph for float16 corner cases: a Resize (blocked: stays float32, behind Casts), a Cast to
 * float (becomes a Cast to float16), an initializer past float16's range (clamped), and a
 * constant read both by a float16 node and the blocked Resize's scales.
 */
export function fp16Corners() {
  const graph = new Graph({
    name: 'corners',
    inputs: [ValueInfo.tensor('x', DataType.FLOAT, [1, 2, 4, 4]), ValueInfo.tensor('n', DataType.INT64, [1])],
    outputs: [ValueInfo.tensor('y', DataType.FLOAT, [1, 2, 8, 8]), ValueInfo.tensor('z', DataType.FLOAT, [1])],
    initializers: [
      Tensor.fromArray({ name: 'big', dims: [2, 1, 1], data: Float32Array.of(1e6, -0.5) }),
      Tensor.fromArray({ name: 'roi', dims: [0], data: new Float32Array(0) }),
      Tensor.fromArray({ name: 'scales', dims: [4], data: Float32Array.of(1, 1, 2, 2) }),
    ],
    nodes: [
      new Node({ opType: 'Mul', name: 'mul', inputs: ['x', 'big'], outputs: ['m'] }),
      new Node({ opType: 'Tanh', name: 'tanh', inputs: ['m'], outputs: ['t'] }),
      new Node({ opType: 'Resize', name: 'resize', inputs: ['t', 'roi', 'scales'], outputs: ['y'], attributes: { mode: attr.string('nearest') } }),
      new Node({ opType: 'Cast', name: 'cast', inputs: ['n'], outputs: ['nf'], attributes: { to: attr.int(DataType.FLOAT) } }),
      new Node({ opType: 'Abs', name: 'abs', inputs: ['nf'], outputs: ['z'] }),
    ],
  });
  return new Model({ graph, opsetImports: new Map([['', 13]]), irVersion: 7 });
}
