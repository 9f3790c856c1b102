// int8 on the CPU it targets: what /proc/cpuinfo says about VNNI, the weights chosen for each
// target, weights whose kernel pairs stay within 128, and, on this machine's real ONNX Runtime, a
// model whose full-range int8 weights saturate on x86 without VNNI: the pair-safe weights give
// float's answer on every CPU, the full-range ones only where the CPU has VNNI (or is not x86).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { Model, Graph, Node, Tensor, ValueInfo, DataType, attr, saveModel } from '../../dist/onnx/index.js';
import { writeNpz } from '../../dist/tensors/npy.js';
import { detectCpu, int8Scheme, targetOf } from '../../dist/quantize/cpu.js';
import { quantizeWeightPairSafe, largestPairSum, forEachKernelPair, PAIR_LIMIT } from '../../dist/quantize/pairs.js';
import { quantizeWeight } from '../../dist/quantize/qparams.js';
import { quantizeFile } from '../../dist/quantize/quantize.js';
import { quantizeText } from '../../dist/quantize/report.js';
import { rng } from './models.mjs';

const cpuinfo = (model, flags) => `processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: ${model}\nflags\t\t: fpu sse sse2 ${flags}\n\nprocessor\t: 1\n`;
const SKYLAKE = cpuinfo('Intel(R) Xeon(R) Processor @ 2.50GHz', 'avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl');
const CASCADE = cpuinfo('Intel(R) Xeon(R) Gold 6248', 'avx avx2 avx512f avx512bw avx512vl avx512_vnni');
const EPYC = cpuinfo('AMD EPYC 7B12', 'avx avx2 fma sha_ni');
const ALDER = cpuinfo('12th Gen Intel(R) Core(TM) i7-12700', 'avx avx2 avx_vnni');
const SAPPHIRE = cpuinfo('Intel(R) Xeon(R) Platinum 8480+', 'avx2 avx512f avx512bw avx512_vnni amx_tile amx_int8');
const GRAVITON = 'processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp\nCPU part\t: 0xd0c\n';

test('the CPU: VNNI (AVX512-VNNI, AVX-VNNI, AMX) -> full-range weights; x86 without it -> pair-safe weights', () => {
  const cases = [[SKYLAKE, 'avx512', 'pairs'], [CASCADE, 'vnni', 'full'], [EPYC, 'avx2', 'pairs'], [ALDER, 'vnni', 'full'],
    [SAPPHIRE, 'vnni', 'full'], [GRAVITON, 'arm64', 'full'], [cpuinfo('Old', 'sse4_2'), 'any', 'pairs']];
  for (const [text, target, range] of cases) {
    const cpu = detectCpu(text);
    assert.equal(targetOf(cpu), target, text);
    const s = int8Scheme('auto', cpu);
    assert.equal(s.target, target);
    assert.equal(s.weightRange, range);
    assert.equal(s.weightType, 'int8');
    assert.match(s.why, range === 'pairs' ? /no VNNI|every CPU/ : /VNNI or AMX|ARM64/);
  }
  assert.deepEqual(detectCpu(SKYLAKE).flags, ['avx2', 'avx512f', 'avx512bw']);
  assert.equal(detectCpu(SKYLAKE).model, 'Intel(R) Xeon(R) Processor @ 2.50GHz');
  // a named target needs no detection
  assert.equal(int8Scheme('vnni').weightRange, 'full');
  assert.equal(int8Scheme('avx2').weightRange, 'pairs');
  assert.equal(int8Scheme('any').weightRange, 'pairs');
  // this machine
  const here = int8Scheme('auto');
  assert.ok(['vnni', 'avx512', 'avx2', 'arm64', 'any'].includes(here.target));
});

test('pair-safe weights: every pair the kernel adds stays within 128; depthwise and unpaired channels keep 8 bits', () => {
  const r = rng(11);
  const layouts = [
    [[8, 6, 3, 3], { kind: 'conv', group: 1 }, 0], // even channels
    [[8, 3, 3, 3], { kind: 'conv', group: 1 }, 0], // odd channels: pairs across positions and within them
    [[8, 2, 3, 3], { kind: 'conv', group: 4 }, 0], // grouped
    [[16, 40], { kind: 'kn' }, 1], // MatMul B [K, N]
    [[40, 16], { kind: 'nk' }, 0], // Gemm transB=1
  ];
  for (const [dims, layout, axis] of layouts) {
    const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r());
    const full = quantizeWeight(values, dims, axis);
    const safe = quantizeWeightPairSafe(values, dims, axis, layout);
    assert.ok(largestPairSum(full.data, dims, layout) > PAIR_LIMIT, `${JSON.stringify(dims)}: the full-range weights do exceed the limit`);
    assert.ok(largestPairSum(safe.data, dims, layout) <= PAIR_LIMIT, JSON.stringify(dims));
    // no worse than 7-bit weights: the pair-safe scale is at most twice the 8-bit one
    safe.scales.forEach((s, c) => assert.ok(s >= full.scales[c] * 0.999 && s <= full.scales[c] * 2.001, `channel ${c}: ${s} vs ${full.scales[c]}`));
    let err = 0;
    let err7 = 0;
    const r7 = quantizeWeight(values, dims, axis, 64);
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < values.length; i++) {
      const c = Math.floor(i / inner) % dims[axis];
      err += (safe.data[i] * safe.scales[c] - values[i]) ** 2;
      err7 += (r7.data[i] * r7.scales[c] - values[i]) ** 2;
    }
    assert.ok(err < err7, `${JSON.stringify(dims)}: pair-safe error ${err} < 7-bit error ${err7}`);
  }
  // pairs of the odd-channel conv: (position-major K) and (channels within a position)
  const seen = [];
  forEachKernelPair([1, 3, 1, 2], { kind: 'conv', group: 1 }, (i, j) => seen.push([i, j]));
  // storage index = c * 2 + t; K order f = t * 3 + c: (c0t0, c1t0), (c2t0, c0t1), (c1t1, c2t1); per position (c0, c1)
  assert.deepEqual(seen, [[0, 2], [4, 1], [3, 5], [0, 2], [1, 3]]);
  // depthwise: no pairs, so the 8-bit scale stays
  const dw = Float32Array.from({ length: 4 * 9 }, () => r());
  const q = quantizeWeightPairSafe(dw, [4, 1, 3, 3], 0, { kind: 'conv', group: 4 });
  assert.equal(q.fullChannels, 4);
  assert.deepEqual([...q.data], [...quantizeWeight(dw, [4, 1, 3, 3], 0).data]);
});

// A MatMul and a 1x1 Conv whose inputs reach the top of their uint8 range against weights at the
// top of theirs: each u8 x s8 pair is 2 x 255 x 127 = 64770, past int16.
let dir;
let matmul;
let conv;
let calibMatmul;
let calibConv;
const K = 64;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-cpu-'));
  const r = rng(5);
  const w = (n, dims) => Tensor.fromArray({ name: n, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 0.9 + 0.1 * Math.abs(r())) });
  matmul = join(dir, 'matmul.onnx');
  await saveModel(new Model({
    graph: new Graph({
      name: 'sat', inputs: [ValueInfo.tensor('x', DataType.FLOAT, ['batch', K])], outputs: [ValueInfo.tensor('y', DataType.FLOAT, ['batch', 16])],
      initializers: [w('w', [K, 16])], nodes: [new Node({ opType: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['y'] })],
    }),
    opsetImports: new Map([['', 13]]), irVersion: 7,
  }), matmul);
  conv = join(dir, 'conv.onnx');
  await saveModel(new Model({
    graph: new Graph({
      name: 'satconv', inputs: [ValueInfo.tensor('x', DataType.FLOAT, ['batch', K, 4, 4])], outputs: [ValueInfo.tensor('y', DataType.FLOAT, ['batch', 256])],
      initializers: [w('w', [16, K, 1, 1])],
      nodes: [
        new Node({ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { kernel_shape: attr.ints([1, 1]) } }),
        new Node({ opType: 'Flatten', name: 'flat', inputs: ['c'], outputs: ['y'] }),
      ],
    }),
    opsetImports: new Map([['', 13]]), irVersion: 7,
  }), conv);
  // inputs in [0, 1]; every fourth sample all ones (the top of the uint8 range everywhere)
  const inputs = (n, per) => Float32Array.from({ length: n * per }, (_, i) => (Math.floor(i / per) % 4 === 0 ? 1 : Math.abs(r())));
  calibMatmul = join(dir, 'mm.npz');
  await writeNpz(calibMatmul, [['x', { datatype: 'FP32', shape: [32, K], data: inputs(32, K) }]]);
  calibConv = join(dir, 'conv.npz');
  await writeNpz(calibConv, [['x', { datatype: 'FP32', shape: [32, K, 4, 4], data: inputs(32, K * 16) }]]);
});
after(() => dir && rm(dir, { recursive: true, force: true }));

async function worstRelativeError(float, quantized, calib) {
  const { readNpz } = await import('../../dist/tensors/npy.js');
  const x = (await readNpz(calib)).get('x');
  const feeds = { x: new ort.Tensor('float32', x.data, x.shape) };
  const [a, b] = await Promise.all([ort.InferenceSession.create(float), ort.InferenceSession.create(quantized)]);
  const [ya, yb] = [(await a.run(feeds)).y.data, (await b.run(feeds)).y.data];
  let worst = 0;
  for (let i = 0; i < ya.length; i++) worst = Math.max(worst, Math.abs(yb[i] - ya[i]) / Math.abs(ya[i]));
  return worst;
}

const saturates = ['avx512', 'avx2'].includes(int8Scheme('auto').target);

for (const [name, mode] of [['matmul', 'int8-static'], ['conv', 'int8-static'], ['matmul', 'int8-dynamic']]) {
  test(`${mode} ${name}: pair-safe weights agree with float on this CPU; full-range ones ${saturates ? 'saturate here (no VNNI)' : 'too (VNNI or not x86)'}`, async () => {
    const src = name === 'matmul' ? matmul : conv;
    const calib = name === 'matmul' ? calibMatmul : calibConv;
    const options = { mode, ...(mode === 'int8-static' && { calibrationData: calib, samples: 32, minMacsPerBoundary: 0 }), evalData: calib, benchSeconds: 0 };
    const safe = await quantizeFile(src, join(dir, `${name}.${mode}.safe.onnx`), { ...options, targetCpu: 'avx2' });
    assert.equal(safe.int8Scheme.weightRange, 'pairs');
    assert.ok(safe.int8Scheme.exactHere);
    assert.equal(safe.fusion.floatHeavyOps, 0, JSON.stringify(safe.fusion.ops));
    const safeErr = await worstRelativeError(src, join(dir, `${name}.${mode}.safe.onnx`), calib);
    assert.ok(safeErr < 0.03, `pair-safe: worst relative error ${safeErr}`);
    assert.ok(safe.agreement.minCosine >= 0.999, `pair-safe cosine ${safe.agreement.minCosine}`);
    assert.match(quantizeText(safe), /target cpu +avx2: weights in \[-127, 127\] with each pair/);

    const full = await quantizeFile(src, join(dir, `${name}.${mode}.full.onnx`), { ...options, targetCpu: 'vnni' });
    assert.equal(full.int8Scheme.weightRange, 'full');
    const fullErr = await worstRelativeError(src, join(dir, `${name}.${mode}.full.onnx`), calib);
    if (saturates) {
      // the defect itself: on x86 without VNNI the full-range weights lose about half of these outputs
      assert.ok(fullErr > 0.2, `full-range weights on ${int8Scheme('auto').target}: worst relative error only ${fullErr}`);
      assert.equal(full.int8Scheme.exactHere, false);
      assert.ok(full.verdict.messages.some((m) => /made for --target-cpu vnni: this CPU has no VNNI/.test(m)), full.verdict.messages.join('\n'));
    } else {
      assert.ok(fullErr < 0.03, `full-range weights on ${int8Scheme('auto').target}: worst relative error ${fullErr}`);
    }
  });
}

test('the JSON report names the target and the weights', async () => {
  const r = await quantizeFile(matmul, join(dir, 'mm.json.onnx'), { mode: 'int8-dynamic', benchSeconds: 0, weightRange: 'reduced' });
  assert.equal(r.int8Scheme.weightRange, 'reduced');
  assert.match(r.int8Scheme.why, /as asked/);
  assert.equal(r.settings.weightRange, 'reduced');
  assert.equal(r.settings.targetCpu, int8Scheme('auto').target);
});
