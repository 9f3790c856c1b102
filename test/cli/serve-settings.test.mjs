// `ferry serve`'s settings: every flag in --help, every flag also a FERRY_ variable, a flag
// winning over its variable, aliases (--http-port, --model-repository) and their conflicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serveSettings, serveHelp, SERVE_FLAGS, envName, DEFAULT_MODEL_PATH } from '../../dist/cli/serve.js';
import { flagsInHelp } from '../../dist/cli/args.js';

/** A value for each flag that differs from its default (booleans: "1"). */
const SAMPLE = {
  'model-repository': '/mnt/models', port: '8080', 'http-port': '8081', host: '0.0.0.0',
  'max-batch-size': '16', 'max-queue-delay-ms': '2.5', 'max-queue-size': '7', instances: '3', threads: '2', providers: 'cuda,cpu',
  'max-body-bytes': '1000', 'max-image-pixels': '2000', 'max-refusal-rate': '10', 'default-model': 'fashion', strict: '1',
  'model-control': 'explicit', 'admin-token': 'tok', 'drain-delay-ms': '500', 'drain-timeout-ms': '9000', 'log-level': 'warn',
};

const argvFor = (flag, value) => (flag === 'strict' ? ['--strict'] : [`--${flag}`, value]);

test('--help lists every flag serve takes, and serve takes every flag --help lists', () => {
  assert.deepEqual(flagsInHelp(serveHelp).filter((f) => f !== '--help').sort(), SERVE_FLAGS.map((f) => `--${f}`).sort());
});

test('every flag is also a FERRY_ variable that sets the same thing, and the flag wins over it', () => {
  const defaults = serveSettings([], {});
  assert.deepEqual(Object.keys(SAMPLE).sort(), SERVE_FLAGS.filter((f) => f !== 'verbose').sort(), 'a sample value for every flag (--verbose is main.ts\'s: FERRY_VERBOSE, tested below)');
  for (const [flag, value] of Object.entries(SAMPLE)) {
    const byFlag = serveSettings(argvFor(flag, value), {});
    const byEnv = serveSettings([], { [envName(flag)]: value });
    assert.notDeepEqual(byFlag.start, defaults.start, `--${flag} ${value} changes something`);
    assert.deepEqual(byEnv.start, byFlag.start, `${envName(flag)}=${value} does what --${flag} ${value} does`);
    if (flag !== 'strict') {
      const other = serveSettings(argvFor(flag, value), { [envName(flag)]: flag === 'model-control' ? 'none' : flag === 'providers' ? 'cpu' : flag === 'host' ? '::1' : flag === 'log-level' ? 'error' : /^[\d.]+$/.test(value) ? '3' : 'other' });
      assert.deepEqual(other.start, byFlag.start, `--${flag} wins over ${envName(flag)}`);
    }
  }
  assert.equal(serveSettings([], { FERRY_STRICT: '0' }).start.strict, false);
  assert.equal(serveSettings([], { FERRY_STRICT: 'yes' }).start.strict, true);
  assert.equal(serveSettings([], { FERRY_MAX_BATCH_SIZE: '' }).start.overrides.maxBatchSize, undefined, 'an empty variable is unset');
});

test('defaults: 127.0.0.1:8000, the bundled model, model control none, a 30 s drain deadline', () => {
  const { start } = serveSettings([], {});
  assert.deepEqual(
    { host: start.host, port: start.port, modelPath: start.modelPath, modelControl: start.modelControl, drainTimeoutMs: start.drainTimeoutMs, adminToken: start.adminToken },
    { host: '127.0.0.1', port: 8000, modelPath: DEFAULT_MODEL_PATH, modelControl: 'none', drainTimeoutMs: 30000, adminToken: undefined },
  );
  assert.equal(serveSettings(['--drain-timeout-ms', '0'], {}).start.drainTimeoutMs, undefined, '0 = no limit');
});

test('aliases: --http-port is --port, --model-repository is PATH; conflicting values are refused', () => {
  assert.equal(serveSettings(['--http-port', '9000'], {}).start.port, 9000);
  assert.equal(serveSettings(['--http-port', '9000', '--port', '9000'], {}).start.port, 9000);
  assert.throws(() => serveSettings(['--http-port', '9000', '--port', '9001'], {}), /--port 9001 and --http-port 9000 disagree/);
  assert.throws(() => serveSettings([], { FERRY_PORT: '1', FERRY_HTTP_PORT: '2' }), /FERRY_PORT 1 and FERRY_HTTP_PORT 2 disagree/);
  assert.equal(serveSettings(['--port', '5'], { FERRY_HTTP_PORT: '2' }).start.port, 5, 'a port flag wins over either variable');
  assert.equal(serveSettings(['models/'], {}).start.modelPath, 'models/');
  assert.equal(serveSettings(['--model-repository', 'models/'], {}).start.modelPath, 'models/');
  assert.equal(serveSettings(['a/'], { FERRY_MODEL_REPOSITORY: 'b/' }).start.modelPath, 'a/');
  assert.throws(() => serveSettings(['a/', '--model-repository', 'b/'], {}), /PATH "a\/" and --model-repository "b\/" disagree/);
  assert.throws(() => serveSettings(['a/', 'b/'], {}), /one PATH at most/);
});

test('bad values name the flag or the variable they came from', () => {
  assert.throws(() => serveSettings(['--max-batch-size', 'many'], {}), /^UsageError: --max-batch-size must be an integer >= 0 \(got "many"\)$/);
  assert.throws(() => serveSettings([], { FERRY_MAX_BATCH_SIZE: 'many' }), /^UsageError: FERRY_MAX_BATCH_SIZE must be an integer >= 0 \(got "many"\)$/);
  assert.throws(() => serveSettings([], { FERRY_HTTP_PORT: '70000' }), /FERRY_HTTP_PORT must be an integer from 0 to 65535/);
  assert.throws(() => serveSettings([], { FERRY_MODEL_CONTROL: 'poll' }), /FERRY_MODEL_CONTROL must be none or explicit \(got "poll"\)/);
  assert.throws(() => serveSettings([], { FERRY_STRICT: 'maybe' }), /FERRY_STRICT must be 1\/true\/yes or 0\/false\/no/);
  assert.throws(() => serveSettings(['--drain-timeout-ms=-1'], {}), /--drain-timeout-ms must be an integer >= 0/);
});

test('warnings: a FERRY_ variable that sets nothing (with a guess), a token without explicit control, explicit control open on all interfaces', () => {
  const typo = serveSettings([], { FERRY_MAX_BACH_SIZE: '4', FERRY_PYTHON: 'python3', FERRY_DEBUG: '1' }).warnings;
  assert.deepEqual(typo, ['environment variable FERRY_MAX_BACH_SIZE sets nothing; did you mean FERRY_MAX_BATCH_SIZE? (ferry serve --help lists the options; each is also FERRY_<NAME>)']);
  assert.match(serveSettings([], { FERRY_ADMIN_TOKEN: 't' }).warnings.join('\n'), /admin token is set but --model-control is none/);
  assert.match(serveSettings(['--model-control', 'explicit', '--host', '0.0.0.0'], {}).warnings.join('\n'), /without an admin token on 0\.0\.0\.0/);
  assert.deepEqual(serveSettings(['--model-control', 'explicit', '--host', '0.0.0.0'], { FERRY_ADMIN_TOKEN: 't' }).warnings, []);
});
