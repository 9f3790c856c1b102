/** `ferry serve [PATH]`: serve a model repository, a model folder or an .onnx file over HTTP. */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer } from '../server/start.js';
import { intFlag, listFlag, numFlag } from './args.js';

export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../examples/fashion', import.meta.url));

export const serveHelp = `Usage: ferry serve [PATH] [options]

Serves PATH over HTTP (KServe v2 / Open Inference Protocol, plus /image and /predict).
PATH is a model repository (DIR/<model>/config.yaml, DIR/<model>/<version>/model.onnx), one
model folder, or an .onnx file. Default: the bundled Fashion-MNIST classifier.

Options (flags override every model's config):
  --port N                 port to listen on (default 8000; 0 = any free port)
  --host ADDR              address to bind (default 127.0.0.1)
  --max-batch-size N       largest batch per model run
  --max-queue-delay-ms F   how long a request may wait for a fuller batch (0 = none)
  --max-queue-size N       queued requests before 503 (0 = unbounded)
  --instances N            parallel sessions per model
  --threads N              intra-op threads per session (default cores / instances)
  --providers LIST         execution providers, e.g. cuda,cpu (default cpu)
  --max-body-bytes N       largest request body (default 67108864); larger gets 413
  --max-image-pixels N     largest image decoded (default 40000000)
  --max-refusal-rate N     503s (queue full) a second answered at once; past that each waits
                           its turn, slowing clients that retry without backing off
                           (default 5000; 0 = never wait)
  --default-model NAME     model behind /image and /predict when several are served
  --strict                 exit when any model fails to load (default: a model that fails is
                           UNAVAILABLE with its reason and the others serve; exit only when none loads)
  --log-level LEVEL        trace, debug, info, warn, error or silent (default info)
  --verbose                with a failure, print its stack and causes (also FERRY_DEBUG=1)
`;

export async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' }, host: { type: 'string' },
      'max-batch-size': { type: 'string' }, 'max-queue-delay-ms': { type: 'string' }, 'max-queue-size': { type: 'string' },
      instances: { type: 'string' }, threads: { type: 'string' }, providers: { type: 'string' },
      'max-body-bytes': { type: 'string' }, 'max-image-pixels': { type: 'string' }, 'max-refusal-rate': { type: 'string' },
      'default-model': { type: 'string' }, 'log-level': { type: 'string' }, strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(serveHelp);
    return 0;
  }
  const threads = intFlag(values.threads, 'threads');
  const providers = listFlag(values.providers);
  const parameters = {
    ...(threads !== undefined && { intra_op_threads: threads }),
    ...(providers !== undefined && { execution_providers: providers }),
  };
  const overrides = {
    maxBatchSize: intFlag(values['max-batch-size'], 'max-batch-size'),
    maxQueueDelayMs: numFlag(values['max-queue-delay-ms'], 'max-queue-delay-ms'),
    maxQueueSize: intFlag(values['max-queue-size'], 'max-queue-size'),
    instances: intFlag(values.instances, 'instances', 1),
    parameters: Object.keys(parameters).length ? parameters : undefined,
  };
  const server = await startServer({
    modelPath: positionals[0] ?? DEFAULT_MODEL_PATH,
    port: intFlag(values.port, 'port', 0, 65535) ?? 8000,
    host: values.host ?? '127.0.0.1',
    overrides: Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
    ...(values['max-body-bytes'] !== undefined && { maxBodyBytes: intFlag(values['max-body-bytes'], 'max-body-bytes', 1) }),
    ...(values['max-image-pixels'] !== undefined && { maxImagePixels: intFlag(values['max-image-pixels'], 'max-image-pixels', 1) }),
    ...(values['max-refusal-rate'] !== undefined && { maxRefusalRate: intFlag(values['max-refusal-rate'], 'max-refusal-rate', 0) }),
    ...(values['default-model'] !== undefined && { defaultModel: values['default-model'] }),
    logLevel: values['log-level'] ?? 'info',
    strict: values.strict ?? false,
  });
  const log = server.app.log;
  log.info({ url: server.url, models: server.repository.ready() }, `ferry serving on ${server.url}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing queued requests');
      server.close().then(() => {
        log.info('stopped');
        resolve();
      }, (err: unknown) => {
        log.error({ err }, 'error while shutting down');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
