/**
 * The one error catalogue. Every failure a user can cause has a stable `code`, an HTTP `status`
 * and a one-line description of what it means (documented in README.md, checked by a test).
 * The message of each thrown error names the thing at fault; the HTTP body is
 * `{ "error": message, "code": code }` — KServe v2 / Triton clients read `error`.
 */
export const ERRORS = {
  // request framing
  BODY_TOO_LARGE: { status: 413, description: 'the request body is larger than the server accepts (max_body_bytes)' },
  BAD_JSON: { status: 400, description: 'the request body (or its JSON header) is not valid JSON' },
  BAD_REQUEST: { status: 400, description: 'the inference request is malformed (missing or wrongly typed fields)' },
  BAD_BINARY_HEADER: { status: 400, description: 'Inference-Header-Content-Length or binary_data_size does not fit the body' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'the body has a content type this route does not take' },
  // tensors
  UNKNOWN_INPUT: { status: 400, description: 'the request names an input the model does not have' },
  MISSING_INPUT: { status: 400, description: 'the request lacks an input the model needs' },
  UNKNOWN_OUTPUT: { status: 400, description: 'the request asks for an output the model does not have' },
  BAD_DATATYPE: { status: 400, description: 'an input tensor has a datatype other than the model declares' },
  BAD_SHAPE: { status: 400, description: 'an input shape is negative, absurd, or does not match the model dims' },
  BAD_DATA_LENGTH: { status: 400, description: 'the tensor data does not hold as many elements as its shape says' },
  BAD_DATA_VALUE: { status: 400, description: 'a tensor element is not a value of the declared datatype' },
  BATCH_TOO_LARGE: { status: 400, description: 'the request batch is larger than the model max_batch_size' },
  BAD_PARAMETER: { status: 400, description: 'a request parameter (priority, timeout, top, ...) is out of range' },
  // images
  BAD_IMAGE: { status: 400, description: 'the body is not a decodable JPEG, PNG or WebP image, or not the pixels it claims' },
  IMAGE_TOO_LARGE: { status: 413, description: 'the image has more pixels than the server decodes (max_image_pixels): a decompression bomb is refused' },
  NO_IMAGE_CONFIG: { status: 400, description: 'the model declares no `image:` preprocessing, so it has no image route' },
  // models
  MODEL_NOT_FOUND: { status: 404, description: 'no model of that name is in the repository' },
  VERSION_NOT_FOUND: { status: 404, description: 'the model has no loaded version of that number' },
  NO_DEFAULT_MODEL: { status: 404, description: 'a route without a model name was used while several models are served' },
  MODEL_NOT_READY: { status: 503, description: 'the model is loading or unloading' },
  MODEL_LOAD_FAILED: { status: 400, description: 'the model could not be loaded (bad config, ONNX or TorchScript file); the message says why' },
  CONFIG_INVALID: { status: 400, description: 'a model config file has a missing or wrong key; the message names the file and key' },
  // scheduling
  QUEUE_FULL: { status: 503, description: 'the model queue holds max_queue_size requests: retry after Retry-After seconds' },
  REQUEST_TIMEOUT: { status: 503, description: 'the request waited in the queue past its timeout and was not run' },
  SHUTTING_DOWN: { status: 503, description: 'the server is shutting down and takes no new requests' },
  CANCELLED: { status: 499, description: 'the client went away before the request ran (never seen by that client)' },
  // repository control (load/unload) and shutdown
  MODEL_CONTROL_DISABLED: { status: 403, description: 'repository load/unload is off (ferry serve --model-control none, the default): start the server with --model-control explicit to allow it' },
  ADMIN_TOKEN_MISSING: { status: 401, description: 'repository load/unload needs `Authorization: Bearer <token>`: the server was started with --admin-token / FERRY_ADMIN_TOKEN' },
  ADMIN_TOKEN_INVALID: { status: 401, description: 'the bearer token of a repository load/unload request is not the server\'s --admin-token' },
  PATH_OUTSIDE_REPOSITORY: { status: 403, description: 'a load request named a file outside the model repository (a model name with / or .., an absolute or .. file name in the config override, or a symlink leading out); it was refused' },
  DRAIN_TIMEOUT: { status: 503, description: 'ferry serve: requests were still queued or running when --drain-timeout-ms ran out after SIGTERM; the process exited without answering them' },
  // PyTorch bridge, export and compare
  PYTHON_UNAVAILABLE: { status: 503, description: 'no Python interpreter that can import torch and numpy was found (--python, FERRY_PYTHON, python3 on PATH, /usr/bin/python3)' },
  PYTHON_ERROR: { status: 400, description: 'the PyTorch side raised: importing the module, calling the factory, running, tracing, scripting or exporting the model' },
  TRACE_DIVERGED: { status: 422, description: 'torch.jit.trace froze data-dependent control flow: the traced model disagrees with eager PyTorch on some inputs' },
  BAD_NPY: { status: 400, description: 'a .npy/.npz file is malformed, or holds a dtype ferry does not read' },
  // ONNX files (model I/O, inspect, check, simplify)
  ONNX_INVALID: { status: 400, description: 'the file is not a readable ONNX model (missing, not ONNX, truncated or corrupt protobuf, or a malformed field); the message names the file and what failed' },
  ONNX_EXTERNAL_DATA: { status: 400, description: 'an external data file of an ONNX model is missing, shorter than its tensors say, or outside the model directory' },
  ONNX_TOO_LARGE: { status: 400, description: 'the ONNX file would exceed protobuf 2 GiB limit: save the model with external data' },
  ONNX_GRAPH_CYCLE: { status: 400, description: 'the graph has a cycle, so its nodes have no valid order; the message names the nodes and values in it' },
  ONNX_CHECK_FAILED: { status: 422, description: 'the model is readable but not valid ONNX (ferry check found errors: undefined values, unknown operators, wrong attributes or types ...); the message lists the first' },
  ONNX_WRITE_FAILED: { status: 500, description: 'an ONNX model or its external data file could not be written (permissions, disk space)' },
  SIMPLIFY_MISMATCH: { status: 422, description: 'ferry simplify: the simplified model computes different outputs than the original (beyond rtol/atol) or does not run, so it was not written; the message names the outputs, the differences and the passes that ran' },
  // quantize and eval
  BAD_CALIBRATION_DATA: { status: 400, description: 'ferry quantize / eval: the calibration or evaluation data cannot feed the model (missing, empty, no image config to preprocess images with, arrays or images that do not fit the model inputs, labels missing)' },
  QUANTIZE_FAILED: { status: 422, description: 'ferry quantize: the model cannot be quantized as asked (nothing quantizable, unsupported input) or the quantized model does not load in ONNX Runtime; the message says which' },
  // convert (ncnn, ORT format)
  UNSUPPORTED_OP: { status: 422, description: 'ferry convert: the model has an operator (or an attribute, dims or layout of one) the target format cannot express; the message names the node and the op, and nothing is written' },
  NCNN_UNAVAILABLE: { status: 503, description: 'no Python that can import the ncnn package (PyPI `ncnn`) was found to run the converted model: install it (`pip install ncnn`) or name the interpreter with FERRY_NCNN_PYTHON' },
  CONVERT_FAILED: { status: 422, description: 'ferry convert: the converted model does not load or run in its runtime, or computes other outputs than the original; the message says which' },
  // tune
  TUNE_FAILED: { status: 422, description: 'ferry tune: the model cannot be measured (its requests cannot be built or are refused: give --shape for dynamic dims), or no point of the sweep answered every request (within --max-p99-ms): the message says which, and the table is printed' },
  // command line and start-up (status: what they would be over HTTP)
  BAD_FLAG: { status: 400, description: 'a command-line flag or command is unknown (the message suggests the closest) or has a bad value' },
  ADDRESS_IN_USE: { status: 400, description: 'ferry serve: the port is taken by another process: stop it or pass --port' },
  BAD_ADDRESS: { status: 400, description: 'ferry serve: the host/port cannot be bound (not an address of this machine, or a privileged port)' },
  // engines and the rest
  ENGINE_UNAVAILABLE: { status: 400, description: 'the requested execution provider or engine is not available on this machine (the libtorch engine: libtorch-dev missing or its addon not built)' },
  INFERENCE_FAILED: { status: 500, description: 'the engine failed while running a batch' },
  NOT_FOUND: { status: 404, description: 'no such route' },
  INTERNAL: { status: 500, description: 'an unexpected server error (a bug: please report it)' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error a user can cause; `status` is the HTTP status it maps to. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers, e.g. Retry-After for QUEUE_FULL. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.headers = options.headers ?? {};
  }

  toJSON(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}
