#!/usr/bin/env node
/**
 * `ferry`: the command line. One file per command; this one only dispatches, and turns every
 * failure into one line with a stable code and exit status 1 (`--verbose` or FERRY_DEBUG=1 adds
 * the stack and causes, for bug reports).
 */
import { UsageError, closest, usageMessage } from './args.js';
import { isFerryError } from '../errors.js';
import { VERSION } from '../version.js';

interface Command {
  readonly run: (argv: string[]) => Promise<number>;
  readonly help: string;
}

/** Each command loads only when it runs: `ferry check` need not load fastify, sharp or ONNX Runtime. */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  serve: { load: async () => { const m = await import('./serve.js'); return { run: m.serve, help: m.serveHelp }; }, summary: 'serve models over HTTP with dynamic batching (KServe v2)' },
  bench: { load: async () => { const m = await import('./bench.js'); return { run: m.bench, help: m.benchHelp }; }, summary: 'load-test a server, or measure a model in process' },
  tune: { load: async () => { const m = await import('./tune.js'); return { run: m.tune, help: m.tuneHelp }; }, summary: 'sweep instances x threads x max batch x delay under load; write the best config (like Model Analyzer)' },
  export: { load: async () => { const m = await import('./export.js'); return { run: m.exportCommand, help: m.exportHelp }; }, summary: 'export a PyTorch model to ONNX or TorchScript, checked against eager' },
  compare: { load: async () => { const m = await import('./compare.js'); return { run: m.compareCommand, help: m.compareHelp }; }, summary: 'run two models (ONNX, TorchScript, PyTorch) on the same inputs and diff the outputs' },
  inspect: { load: async () => { const m = await import('./inspect.js'); return { run: m.inspect, help: m.inspectHelp }; }, summary: 'describe an ONNX or TorchScript model: inputs, outputs, operators, parameters' },
  check: { load: async () => { const m = await import('./check.js'); return { run: m.check, help: m.checkHelp }; }, summary: 'validate an ONNX model (as onnx.checker): graph, operators, attributes, types, tensors' },
  simplify: { load: async () => { const m = await import('./simplify.js'); return { run: m.simplify, help: m.simplifyHelp }; }, summary: 'fold constants, shapes and BatchNorm, drop no-ops; written only if ONNX Runtime outputs match' },
  quantize: { load: async () => { const m = await import('./quantize.js'); return { run: m.quantize, help: m.quantizeHelp }; }, summary: 'fp16, static int8 (calibrated QDQ) or dynamic int8; reports size, speed and accuracy' },
  convert: { load: async () => { const m = await import('./convert.js'); return { run: m.convertCommand, help: m.convertHelp }; }, summary: 'write a model for a mobile runtime (ncnn fp32/fp16/int8, ORT format), checked in that runtime' },
  eval: { load: async () => { const m = await import('./eval.js'); return { run: m.evalCommand, help: m.evalHelp }; }, summary: 'top-1 accuracy of a model on labelled images or tensors' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `ferry ${VERSION}: take a PyTorch-trained model to production.\n\nUsage: ferry <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`ferry <command> --help\` for a command's options; --verbose (or FERRY_DEBUG=1) shows the stack of a failure.\n`;
}

/** The stack and the chain of causes, for --verbose. */
function details(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    out.push(depth === 0 ? String((e as Error).stack ?? e) : `caused by: ${String((e as Error).stack ?? e)}`);
  }
  return `${out.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || /^(1|true|yes)$/i.test(process.env.FERRY_DEBUG ?? process.env.FERRY_VERBOSE ?? '');
  argv = argv.filter((a) => a !== '--verbose');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const guess = closest(name, Object.keys(COMMANDS));
    process.stderr.write(`ferry: unknown command "${name}"${guess ? `; did you mean "${guess}"?` : ''} (ferry --help lists the commands) [BAD_FLAG]\n`);
    return 1;
  }
  const command = await entry.load();
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ferry ${name}: ${usageMessage(err as Error, name, command.help)} [BAD_FLAG]\n`);
    } else if (isFerryError(err)) {
      process.stderr.write(`ferry ${name}: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`ferry ${name}: internal error: ${(err as Error).message ?? String(err)} [INTERNAL]${verbose ? '' : ' (run with --verbose for the stack, and please report it)'}\n`);
    }
    if (verbose) process.stderr.write(details(err));
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
