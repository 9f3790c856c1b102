/** Messages between the ONNX Runtime engine and its worker threads. */
import type { OrtSettings } from './parameters.js';

export interface WorkerInit extends OrtSettings {
  modelPath: string;
  warmup: boolean;
}

/** A tensor on the wire: its buffer is transferred, never copied. */
export interface WireTensor {
  name: string;
  /** onnxruntime type name, e.g. 'float32'. */
  type: string;
  dims: number[];
  buffer: ArrayBuffer;
  byteOffset: number;
  /** Elements. */
  length: number;
}

export interface WireMetadata {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface WorkerRequest {
  type: 'run';
  id: number;
  inputs: WireTensor[];
  outputs?: string[];
}

/**
 * Ends the worker once the batch it is running (or its loading and warm-up) has finished: a
 * thread ended in the middle of an ONNX Runtime run aborts the whole process.
 */
export interface CloseRequest {
  type: 'close';
}

export type WorkerMessage = WorkerRequest | CloseRequest;

export type WorkerReply =
  | { type: 'ready'; inputs: WireMetadata[]; outputs: WireMetadata[]; warmupError?: string; /** Median of timed warm-up runs at batch 1. */ warmupMs?: number }
  | { type: 'error'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[]; computeMs: number; released: ArrayBuffer[] }
  | { type: 'runError'; id: number; message: string; released: ArrayBuffer[] };
