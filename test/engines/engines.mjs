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
 * @property {{ symbolicDims: boolean, datatypes: string[], instanceCrash: boolean }} can
 */

/** @type {EngineCase[]} */
export const ENGINES = [
  {
    backend: 'onnxruntime',
    platform: 'onnxruntime_onnx',
    skip: () => undefined,
    fixture: (name) => ({ modelPath: join(FIXTURES, name, '1', 'model.onnx') }),
    parameters: { intra_op_threads: 1, inter_op_threads: 1, allow_spinning: false, execution_providers: ['cpu'] },
    can: { symbolicDims: true, datatypes: ['INT64', 'UINT8', 'BOOL', 'FP16'], instanceCrash: true },
  },
];
