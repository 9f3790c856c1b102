// The engines the conformance suite runs on, one entry each (hono's common.case.test.ts habit):
// where each finds the suite's fixture models, and what it can do. Adding an engine to the
// suite is one entry here.
import { join } from 'node:path';
import { FIXTURES } from '../helpers.mjs';

/**
 * @typedef {object} EngineCase
 * @property {string} backend        registry name
 * @property {string} platform       Triton platform name it reports
 * @property {() => string | undefined} skip  why it cannot run here, or undefined
 * @property {(name: string) => { modelPath: string, declared?: object }} fixture  the suite's model `name` (scale, types, matpow)
 * @property {Record<string, unknown>} parameters  a valid parameters object
 * @property {Record<string, unknown>} [defaults]  parameters every model of the case gets (a placement, say)
 * @property {{ symbolicDims: boolean, datatypes: string[], instanceCrash: boolean, offLoop: boolean, instances: boolean }} can
 *   offLoop: runs do not block the event loop; instances: runs go to several instances at once
 */

/** @type {EngineCase[]} */
export const ENGINES = [
  {
    backend: 'onnxruntime',
    platform: 'onnxruntime_onnx',
    skip: () => undefined,
    fixture: (name) => ({ modelPath: join(FIXTURES, name, '1', 'model.onnx') }),
    parameters: { intra_op_threads: 1, inter_op_threads: 1, allow_spinning: false, execution_providers: ['cpu'] },
    can: { symbolicDims: true, datatypes: ['INT64', 'UINT8', 'BOOL', 'FP16'], instanceCrash: true, offLoop: true, instances: true },
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
    can: { symbolicDims: true, datatypes: ['INT64', 'UINT8', 'BOOL', 'FP16'], instanceCrash: false, offLoop: false, instances: false },
  },
];
