#!/usr/bin/env node
/** `ferry`: the command line. One file per command; this one only dispatches. */
import { serve, serveHelp } from './serve.js';
import { bench, benchHelp } from './bench.js';
import { exportCommand, exportHelp } from './export.js';
import { compareCommand, compareHelp } from './compare.js';
import { inspect, inspectHelp } from './inspect.js';
import { simplify, simplifyHelp } from './simplify.js';
import { check, checkHelp } from './check.js';
import { UsageError } from './args.js';
import { isFerryError } from '../errors.js';
import { VERSION } from '../version.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string; summary: string }> = {
  serve: { run: serve, help: serveHelp, summary: 'serve models over HTTP with dynamic batching (KServe v2)' },
  bench: { run: bench, help: benchHelp, summary: 'load-test a server, or measure a model in process' },
  export: { run: exportCommand, help: exportHelp, summary: 'export a PyTorch model to ONNX or TorchScript, checked against eager' },
  compare: { run: compareCommand, help: compareHelp, summary: 'run two models (ONNX, TorchScript, PyTorch) on the same inputs and diff the outputs' },
  inspect: { run: inspect, help: inspectHelp, summary: 'describe an ONNX model: inputs, outputs, operators, parameters, external data' },
  simplify: { run: simplify, help: simplifyHelp, summary: 'fold constants, shapes and BatchNorm, drop no-ops; written only if ONNX Runtime outputs match' },
  check: { run: check, help: checkHelp, summary: 'validate an ONNX model (as onnx.checker): graph, operators, attributes, types, tensors' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `ferry ${VERSION}: take a PyTorch-trained model to production.\n\nUsage: ferry <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`ferry <command> --help\` for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ferry: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ferry ${name}: ${(err as Error).message}\n\n${command.help}`);
      return 2;
    }
    if (isFerryError(err)) {
      process.stderr.write(`ferry ${name}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    process.stderr.write(`ferry ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
