/**
 * The admission gate: refuses a request to a model whose queue is full (503 QUEUE_FULL with
 * Retry-After) straight from node:http's request event, before fastify builds its request and
 * reply objects and before the body is read. Under overload most requests are refused, and what
 * a refusal costs is taken from the requests being served: here it costs about as much as
 * node:http's own parse (~20 µs on the project's machine, against ~50 µs through fastify's
 * routing, hooks and error handler). Everything else, full queue or not, goes on to fastify,
 * which makes the same check again once routed (ModelVersion.admit), so a request the gate does
 * not recognise is still refused correctly, only later.
 *
 * Routes recognised: POST /v2/models/{m}[/versions/{v}]/infer, POST|PUT /v2/models/{m}[/versions/{v}]/image,
 * and the default model's POST|PUT /image and POST /predict.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelRepository } from '../repository/repository.js';
import type { ModelVersion } from '../repository/model-version.js';
import type { FerryError } from '../errors.js';
import type { RefusalPacer } from './refusal-pacer.js';
import type { RefusalBudget } from './refusal-budget.js';

export interface AdmissionOptions {
  readonly repository: ModelRepository;
  /** The model the bare /image and /predict routes use (else the only one served). */
  readonly defaultModel: string | undefined;
  /** Counts an error answer by code (the metrics' ferry_http_errors_total). */
  readonly countError: (code: string) => void;
  /** Paces refusals past a rate budget (./refusal-pacer.ts); none = answer every refusal at once. */
  readonly pacer?: RefusalPacer;
  /** Told what each refusal cost the event loop, so the budget can follow it. */
  readonly budget?: RefusalBudget;
}

/** The model version a request URL addresses, if it is one of the queued routes; undefined otherwise. */
export function queuedRouteModel(method: string | undefined, url: string | undefined, repository: ModelRepository, defaultModel: string | undefined): ModelVersion | undefined {
  if (!url || (method !== 'POST' && method !== 'PUT')) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let name: string | undefined;
  let version: string | undefined;
  if (path.startsWith('/v2/models/')) {
    const parts = path.split('/'); // '', 'v2', 'models', m, ('versions', v,) route
    const route = parts.at(-1);
    if (route === 'infer' ? method !== 'POST' : route !== 'image') return undefined;
    if (parts.length === 5) name = parts[3];
    else if (parts.length === 7 && parts[4] === 'versions') [name, version] = [parts[3], parts[5]];
    else return undefined;
    try {
      name = decodeURIComponent(name!);
      if (version !== undefined) version = decodeURIComponent(version);
    } catch {
      return undefined;
    }
  } else if (path === '/image' || (path === '/predict' && method === 'POST')) {
    if (defaultModel !== undefined) name = defaultModel;
    else {
      const ready = repository.ready();
      if (ready.length !== 1) return undefined;
      name = ready[0];
    }
  } else {
    return undefined;
  }
  try {
    return repository.get(name!, version);
  } catch {
    return undefined; // unknown model or version: fastify's route answers it properly
  }
}

/**
 * Event-loop time node:http takes to read and drop one byte of a refused body: ~0.25 ms per MB
 * (measured on the project's 2-core machine; a slower one only makes refusals dearer, and the
 * budget smaller, as it should).
 */
const DRAIN_MS_PER_BYTE = 0.25 / 1_000_000;

/** Serialized 503 answers, one per distinct error object (a model version keeps one). */
const bodies = new WeakMap<FerryError, { body: Buffer; headers: Record<string, string> }>();

function answer(err: FerryError): { body: Buffer; headers: Record<string, string> } {
  let a = bodies.get(err);
  if (!a) {
    const body = Buffer.from(JSON.stringify(err.toJSON()));
    a = { body, headers: { ...err.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) } };
    bodies.set(err, a);
  }
  return a;
}

/** Returns the gate: true when it answered the request itself (a 503), false to hand it on. */
export function admissionGate(options: AdmissionOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const model = queuedRouteModel(req.method, req.url, options.repository, options.defaultModel);
    if (!model || !model.full) return false;
    const t0 = performance.now();
    const err = model.reject();
    const { body, headers } = answer(err);
    options.countError(err.code);
    let cost = 0;
    const send = (): void => {
      if (res.destroyed || res.writableEnded) return; // the client left while its refusal waited
      const t1 = performance.now();
      res.writeHead(err.status, headers);
      res.end(body); // node:http reads and drops whatever of the body is still unread
      options.budget?.noteCost(cost + performance.now() - t1);
    };
    // What a refusal costs: the gate's work, answering it, and reading its body (estimated from
    // its length: node:http drops it as it arrives, which no timer here sees).
    const length = Number(req.headers['content-length']) || 0;
    cost = performance.now() - t0 + length * DRAIN_MS_PER_BYTE;
    if (!options.pacer) send();
    else {
      req.resume(); // drop the body while the answer waits its turn
      options.pacer.submit(send);
    }
    return true;
  };
}
