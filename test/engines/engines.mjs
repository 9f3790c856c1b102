// The engines the conformance suite runs on, one entry each (hono's common.case.test.ts habit):
// where each finds the suite's fixture models, and what it can do. Adding an engine to the
// suite is one entry here.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from '../helpers.mjs';
import { libtorch } from '../../dist/engines/libtorch/descriptor.js';

const TORCHSCRIPT = fileURLToPath(new URL('../fixtures/torchscript', import.meta.url));

// TorchScript records no datatypes or shapes: scale.pt carries ferry.json (as ferry export writes
// it); types.pt and matpow.pt get theirs declared, as a model config declares them.
const TORCHSCRIPT_DECLARED = {
  scale: undefined,
  types: {
    maxBatchSize: 8,
    inputs: [
      { name: 'a', datatype: 'INT64', dims: [2] }, { name: 'b', datatype: 'UINT8', dims: [3] },
      { name: 'c', datatype: 'BOOL', dims: [1] }, { name: 'd', datatype: 'FP16', dims: [2] },
    ],
  },
  matpow: { maxBatchSize: 8, inputs: [{ name: 'x', datatype: 'FP32', dims: [-1, -1] }] },
};

/**
 * @typedef {object} EngineCase
 * @property {string} backend        registry name
 * @property {string} platform       Triton platform name it reports
 * @property {() => string | undefined} skip  why it cannot run here, or undefined
 * @property {(name: string) => { modelPath: string, declared?: object }} fixture  the suite's model `name` (scale, types, matpow)
 * @property {Record<string, unknown>} parameters  a valid parameters object
 * @property {Record<string, unknown>} [defaults]  parameters every model of the case gets (a placement, say)
 * @property {{ symbolicDims: boolean, datatypes: string[], instanceCrash: boolean, offLoop: boolean, instances: boolean, waits: boolean }} can
 *   offLoop: runs do not block the event loop; instances: runs go to several instances at once;
 *   waits: a run waits while the instances are busy (rather than starting at once)
 * @property {number} slowMatpow  an even matpow side n whose run takes well over 50 ms on this engine
 */

/** @type {EngineCase[]} */
export const ENGINES = [
  {
    backend: 'onnxruntime',
    platform: 'onnxruntime_onnx',
    skip: () => undefined,
    fixture: (name) => ({ modelPath: join(FIXTURES, name, '1', 'model.onnx') }),
    parameters: { intra_op_threads: 1, inter_op_threads: 1, allow_spinning: false, execution_providers: ['cpu'] },
    can: { symbolicDims: true, datatypes: ['INT64', 'UINT8', 'BOOL', 'FP16'], instanceCrash: true, offLoop: true, instances: true, waits: true },
    slowMatpow: 1024,
  },
  {
    // The same engine with every batch on the event loop's thread (parameters.inline: true).
    backend: 'onnxruntime',
    label: 'onnxruntime (inline)',
    platform: 'onnxruntime_onnx',
    skip: () => undefined,
    fixture: (name) => ({ modelPath: join(FIXTURES, name, '1', 'model.onnx') }),
    defaults: { inline: 'true' },
    parameters: { intra_op_threads: 1, inline: true },
    can: { symbolicDims: true, datatypes: ['INT64', 'UINT8', 'BOOL', 'FP16'], instanceCrash: false, offLoop: false, instances: false, waits: false },
    slowMatpow: 1024,
  },
  {
    backend: 'pytorch',
    platform: 'pytorch_libtorch',
    skip: () => libtorch.unavailable(),
    fixture: (name) => ({
      modelPath: join(TORCHSCRIPT, `${name}.pt`),
      ...(TORCHSCRIPT_DECLARED[name] && { declared: TORCHSCRIPT_DECLARED[name], source: `test/fixtures/torchscript/${name}/config.yaml` }),
    }),
    parameters: { intra_op_threads: 1, optimized_execution: true, inference_mode: true, optimize_for_inference: false },
    // instances are threads in this process: one cannot die alone. Debian's torch multiplies
    // matrices with the reference BLAS, so a small matpow is already slow.
    can: { symbolicDims: false, datatypes: ['INT64', 'UINT8', 'BOOL', 'FP16'], instanceCrash: false, offLoop: true, instances: true, waits: true },
    slowMatpow: 256,
  },
];
