/**
 * A model (ModelProto): the main graph, the opsets it uses, model-local functions and metadata.
 * Built by loadModel()/decodeModel() or by hand; written by saveModel()/encodeModel().
 */
import type { OpaqueProto } from '../proto/types.js';
import type { FunctionDef } from './function.js';
import { Graph } from './graph.js';
import type { Tensor } from './tensor.js';

export interface ModelInit {
  /** @defaultValue new Graph() */
  graph?: Graph;
  /**
   * ONNX IR version (ModelProto.ir_version): 7 for opset 13-14, 8 for 15-18, 9 for 19-20,
   * 10 for 21-22, ... @defaultValue 8
   */
  irVersion?: number;
  /** Operator sets: domain ('' = ai.onnx) to version. @defaultValue { '' => 17 } */
  opsetImports?: ReadonlyMap<string, number>;
  /** @defaultValue 'ferry' */
  producerName?: string;
  /** @defaultValue '' */
  producerVersion?: string;
  /** @defaultValue '' */
  domain?: string;
  /** @defaultValue 0 */
  modelVersion?: number;
  /** @defaultValue '' */
  docString?: string;
  /** ModelProto metadata_props. @defaultValue none */
  metadata?: ReadonlyMap<string, string>;
  /** @defaultValue [] */
  functions?: readonly FunctionDef[];
  /** ModelProto training_info, kept verbatim. @defaultValue [] */
  trainingInfo?: readonly OpaqueProto[];
  /** ModelProto configuration (device configurations), kept verbatim. @defaultValue [] */
  configuration?: readonly OpaqueProto[];
}

export class Model {
  irVersion: number;
  /** Domain ('' = ai.onnx) to opset version. */
  readonly opsetImports: Map<string, number>;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  readonly metadata: Map<string, string>;
  graph: Graph;
  functions: FunctionDef[];
  /**
   * ModelProto training_info, kept verbatim (decoded protobuf messages). Tensors in it are not
   * relocated by saveModel's external data.
   */
  trainingInfo: readonly OpaqueProto[];
  /** ModelProto configuration, kept verbatim. */
  configuration: readonly OpaqueProto[];

  constructor(init: ModelInit = {}) {
    this.graph = init.graph ?? new Graph();
    this.irVersion = init.irVersion ?? 8;
    this.opsetImports = new Map(init.opsetImports ?? [['', 17]]);
    this.producerName = init.producerName ?? 'ferry';
    this.producerVersion = init.producerVersion ?? '';
    this.domain = init.domain ?? '';
    this.modelVersion = init.modelVersion ?? 0;
    this.docString = init.docString ?? '';
    this.metadata = new Map(init.metadata);
    this.functions = [...(init.functions ?? [])];
    this.trainingInfo = init.trainingInfo ?? [];
    this.configuration = init.configuration ?? [];
  }

  /** The opset version imported for a domain ('' and 'ai.onnx' are the same domain); undefined if none. */
  opset(domain = ''): number | undefined {
    if (domain === '' || domain === 'ai.onnx') return this.opsetImports.get('') ?? this.opsetImports.get('ai.onnx');
    return this.opsetImports.get(domain);
  }

  /** The function a node calls, if (domain, opType, overload) names a model-local function. */
  findFunction(domain: string, opType: string, overload = ''): FunctionDef | undefined {
    return this.functions.find((f) => f.domain === domain && f.name === opType && f.overload === overload);
  }

  /**
   * Every tensor in the model: initializers, sparse initializer parts, and tensor attributes, in
   * the main graph, subgraphs and function bodies, each with the graph that holds it.
   */
  *tensors(): Generator<{ tensor: Tensor; graph: Graph; kind: 'initializer' | 'sparse' | 'attribute' }> {
    const graphs = [this.graph, ...this.functions.map((f) => f.body)];
    for (const root of graphs) yield* graphTensors(root);
  }

  /** A deep copy: graphs and functions copied, tensors shared (they are immutable). */
  clone(): Model {
    return new Model({ ...this, graph: this.graph.clone(), functions: this.functions.map((f) => f.clone()) });
  }
}

function* graphTensors(g: Graph): Generator<{ tensor: Tensor; graph: Graph; kind: 'initializer' | 'sparse' | 'attribute' }> {
  for (const tensor of g.initializers.values()) yield { tensor, graph: g, kind: 'initializer' };
  for (const s of g.sparseInitializers) {
    yield { tensor: s.values, graph: g, kind: 'sparse' };
    yield { tensor: s.indices, graph: g, kind: 'sparse' };
  }
  for (const n of g.nodes) {
    for (const a of n.attributes.values()) {
      if (a.type === 'tensor') yield { tensor: a.value, graph: g, kind: 'attribute' };
      else if (a.type === 'tensors') for (const tensor of a.value) yield { tensor, graph: g, kind: 'attribute' };
      else if (a.type === 'sparse_tensor' || a.type === 'sparse_tensors') {
        for (const s of a.type === 'sparse_tensor' ? [a.value] : a.value) {
          yield { tensor: s.values, graph: g, kind: 'attribute' };
          yield { tensor: s.indices, graph: g, kind: 'attribute' };
        }
      }
    }
    for (const sub of n.subgraphs()) yield* graphTensors(sub);
  }
}
