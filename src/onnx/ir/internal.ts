/**
 * The protocol between Node and Graph that keeps the graph's producer/consumer index current.
 * Symbol-keyed so it stays out of the way of users; nothing outside src/onnx/ir uses it.
 */
/** node[GRAPH]: the graph the node is in. */
export const GRAPH: unique symbol = Symbol('ferry.onnx.graph');
/** node[INDEXED]: the values the graph's consumer index records the node as reading. */
export const INDEXED: unique symbol = Symbol('ferry.onnx.indexed');
/** graph[OWNER]: the node whose attribute holds the graph (subgraphs only). */
export const OWNER: unique symbol = Symbol('ferry.onnx.owner');
/** graph[INPUTS_CHANGED](node): a node's inputs changed. */
export const INPUTS_CHANGED: unique symbol = Symbol('ferry.onnx.inputsChanged');
/** graph[OUTPUTS_CHANGED](node, before): a node's outputs changed. */
export const OUTPUTS_CHANGED: unique symbol = Symbol('ferry.onnx.outputsChanged');
/** graph[SUBGRAPHS_CHANGED](node): a node's subgraphs (or what they read from outside) changed. */
export const SUBGRAPHS_CHANGED: unique symbol = Symbol('ferry.onnx.subgraphsChanged');
