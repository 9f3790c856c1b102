// The deployment objects, checked against the real schemas:
// - deploy/kserve/*.yaml against KServe's own CRD openAPIV3Schema (deploy/kserve/schemas/, ajv);
// - deploy/k8s (kustomize build of base and each overlay) against Kubernetes' schemas
//   (PyPI kubernetes-validate --strict, in .venv);
// - every `ferry serve` flag and FERRY_ variable the manifests and the Dockerfile pass is one
//   `ferry serve --help` lists, with a value it accepts.
// Each check is also shown to fail on a broken copy, so that a pass means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import Ajv from 'ajv';
import { serveHelp, serveSettings, envName, SERVE_FLAGS } from '../../dist/cli/serve.js';
import { flagsInHelp } from '../../dist/cli/args.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KSERVE = join(ROOT, 'deploy', 'kserve');
const K8S = join(ROOT, 'deploy', 'k8s');
const VENV_BIN = join(ROOT, '.venv', 'bin');
const OVERLAYS = ['base', 'overlays/cpu', 'overlays/gpu'];

const yamlDocs = (file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON()).filter(Boolean);
const clone = (x) => structuredClone(x);

// ---------------------------------------------------------------- KServe, against its CRDs

/**
 * The CRD's schema as `kubectl apply` (strict field validation, the default since Kubernetes 1.27)
 * treats it: an object that lists its properties and does not say
 * x-kubernetes-preserve-unknown-fields takes no others, so a misspelt field is an error.
 */
function strictSchema(schema) {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strictSchema(s)])) : strictSchema(v)]));
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

const crds = new Map(readdirSync(join(KSERVE, 'schemas')).filter((f) => f.endsWith('.yaml')).map((f) => {
  const crd = parse(readFileSync(join(KSERVE, 'schemas', f), 'utf8'));
  return [crd.spec.names.kind, crd];
}));
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map();
/** Validates a KServe object against its kind's CRD; returns ajv's errors as lines ([] = valid). */
function kserveErrors(obj) {
  const crd = crds.get(obj.kind);
  if (!crd) return [`no CRD for kind ${obj.kind} in deploy/kserve/schemas/`];
  const [group, version] = obj.apiVersion.split('/');
  if (group !== crd.spec.group) return [`apiVersion ${obj.apiVersion}: the CRD's group is ${crd.spec.group}`];
  const v = crd.spec.versions.find((x) => x.name === version && x.served);
  if (!v) return [`apiVersion ${obj.apiVersion}: ${obj.kind} serves ${crd.spec.versions.filter((x) => x.served).map((x) => x.name).join(', ')}`];
  const key = `${obj.kind}/${version}`;
  if (!validators.has(key)) validators.set(key, ajv.compile(strictSchema(v.schema.openAPIV3Schema)));
  const validate = validators.get(key);
  const errors = [];
  if (!obj.metadata?.name) errors.push('metadata.name is missing');
  if (!validate(obj)) errors.push(...validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`));
  return errors;
}

const kserveObjects = readdirSync(KSERVE).filter((f) => f.endsWith('.yaml')).flatMap((f) => yamlDocs(join(KSERVE, f)).map((obj) => ({ file: `deploy/kserve/${f}`, obj })));
const runtime = kserveObjects.find((o) => o.obj.kind === 'ClusterServingRuntime').obj;
const isvc = kserveObjects.find((o) => o.obj.kind === 'InferenceService').obj;

test('the KServe objects validate against KServe\'s CRD schemas', () => {
  assert.deepEqual(kserveObjects.map((o) => o.obj.kind).sort(), ['ClusterServingRuntime', 'InferenceService']);
  for (const { file, obj } of kserveObjects) assert.deepEqual(kserveErrors(obj), [], `${file} (${obj.kind})`);
});

test('the CRD check fails on broken objects: a misspelt field, a wrong type, a wrong apiVersion', () => {
  const misspelt = clone(runtime);
  misspelt.spec.supportedModelFormat = misspelt.spec.supportedModelFormats;
  assert.match(kserveErrors(misspelt).join('\n'), /\/spec must NOT have additional properties \(supportedModelFormat\)/);
  const wrongType = clone(runtime);
  wrongType.spec.supportedModelFormats[0].priority = 'high';
  assert.match(kserveErrors(wrongType).join('\n'), /\/spec\/supportedModelFormats\/0\/priority must be integer/);
  const probe = clone(runtime);
  probe.spec.containers[0].readinessProbe.httpGet.paht = '/v2/health/ready';
  assert.match(kserveErrors(probe).join('\n'), /readinessProbe\/httpGet must NOT have additional properties \(paht\)/);
  const noModel = clone(isvc);
  noModel.spec.predictor.model.storageURI = noModel.spec.predictor.model.storageUri;
  assert.match(kserveErrors(noModel).join('\n'), /storageURI/);
  assert.match(kserveErrors({ ...clone(isvc), apiVersion: 'serving.kserve.io/v1' }).join('\n'), /serves v1beta1/);
});

test('the ClusterServingRuntime is what KServe needs of a v2 runtime, and the InferenceService uses it', () => {
  const formats = runtime.spec.supportedModelFormats.map((f) => f.name);
  assert.ok(formats.includes('onnx') && formats.includes('pytorch'), formats.join());
  assert.deepEqual(runtime.spec.protocolVersions, ['v2']);
  const [c] = runtime.spec.containers;
  assert.equal(c.name, 'kserve-container');
  assert.deepEqual(c.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/v2/health/ready', port: 8080 });
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.equal(runtime.spec.annotations['prometheus.kserve.io/port'], '8080');
  assert.equal(runtime.spec.annotations['prometheus.kserve.io/path'], '/metrics');
  const m = isvc.spec.predictor.model;
  assert.equal(m.runtime, runtime.metadata.name);
  assert.ok(formats.includes(m.modelFormat.name));
  assert.equal(m.protocolVersion, 'v2');
  assert.match(m.storageUri, /^[a-z0-9]+:\/\//);
});

// ---------------------------------------------------------------- Kubernetes, kustomize + kubernetes-validate

/** kustomize: .venv/bin/kustomize (what .ci/run installs), then PATH, then `kubectl kustomize`. */
function kustomizeCommand() {
  const candidates = [[join(VENV_BIN, 'kustomize'), 'build'], ['kustomize', 'build'], ['kubectl', 'kustomize']];
  return candidates.find(([cmd, sub]) => spawnSync(cmd, [sub, '--help'], { stdio: 'ignore' }).status === 0);
}
const kustomize = kustomizeCommand();
const validator = join(VENV_BIN, 'kubernetes-validate');
const k8sSkip = !kustomize ? 'kustomize not found (.ci/run installs it: GOBIN=.venv/bin go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0)'
  : !existsSync(validator) ? '.venv/bin/kubernetes-validate missing (.venv/bin/pip install kubernetes-validate)' : false;

const rendered = new Map();
function render(overlay) {
  if (!rendered.has(overlay)) {
    const r = spawnSync(kustomize[0], [kustomize[1], join(K8S, overlay)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `kustomize build deploy/k8s/${overlay}: ${r.stderr}`);
    rendered.set(overlay, parseAllDocuments(r.stdout).map((d) => d.toJSON()));
  }
  return rendered.get(overlay);
}

/** kubernetes-validate --strict on objects; resolves with { ok, output }. */
function k8sValidate(objects) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-k8s-'));
  try {
    const file = join(dir, 'objects.yaml');
    writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
    const r = spawnSync(validator, ['--strict', file], { encoding: 'utf8', timeout: 60_000 });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('deploy/k8s: base and the cpu and gpu overlays build and validate against Kubernetes\' schemas', { skip: k8sSkip }, () => {
  for (const overlay of OVERLAYS) {
    const objects = render(overlay);
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service'], overlay);
    const { ok, output } = k8sValidate(objects);
    assert.ok(ok, `${overlay}:\n${output}`);
    assert.equal((output.match(/passed for resource/g) ?? []).length, 4, output);
  }
});

test('kubernetes-validate fails on a broken Deployment: a misspelt field, a wrong type', { skip: k8sSkip }, () => {
  const d = clone(render('base').find((o) => o.kind === 'Deployment'));
  d.spec.template.spec.containers[0].readinessProbe.httpGet.paht = '/v2/health/ready';
  d.spec.replicas = 'two';
  const { ok, output } = k8sValidate([d]);
  assert.equal(ok, false, output);
  assert.match(output, /paht|replicas/);
});

test('the Deployment: non-root, read-only root filesystem, probes on live and ready, preStop before SIGTERM, time to drain', { skip: k8sSkip }, () => {
  for (const overlay of OVERLAYS) {
    const objects = render(overlay);
    const dep = objects.find((o) => o.kind === 'Deployment');
    const pod = dep.spec.template.spec;
    const [c] = pod.containers;
    assert.equal(pod.securityContext.runAsNonRoot, true, overlay);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true, overlay);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false, overlay);
    assert.equal(c.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/v2/health/live');
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory, 'resource requests');
    const preStopS = Number(c.lifecycle.preStop.exec.command.at(-1));
    const drainMs = Number(c.env.find((e) => e.name === 'FERRY_DRAIN_TIMEOUT_MS').value);
    assert.ok(preStopS >= 2, 'preStop waits for the endpoints to drop the pod');
    assert.ok(pod.terminationGracePeriodSeconds >= preStopS + drainMs / 1000 + 5, `${overlay}: grace period ${pod.terminationGracePeriodSeconds} s covers preStop ${preStopS} s + drain ${drainMs} ms`);
    assert.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const svc = objects.find((o) => o.kind === 'Service');
    assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
    assert.deepEqual(objects.find((o) => o.kind === 'PodDisruptionBudget').spec.selector.matchLabels, dep.spec.selector.matchLabels);
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
    assert.equal(hpa.spec.scaleTargetRef.name, dep.metadata.name);
    assert.ok(hpa.spec.metrics.some((m) => m.type === 'Pods' && m.pods.metric.name === 'ferry_queue_depth'), 'scales on queue depth');
  }
  const gpu = render('overlays/gpu').find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  assert.equal(gpu.resources.limits['nvidia.com/gpu'], 1);
  assert.ok(gpu.args.includes('--providers=cuda,cpu'));
});

// ---------------------------------------------------------------- flags

/** Every (args, env) that runs `ferry serve`: the Dockerfile's CMD, the KServe runtime, each rendered Deployment. */
function serveInvocations() {
  const out = [];
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  out.push({ where: 'Dockerfile CMD', args: JSON.parse(cmd[1]), env: [] });
  for (const c of runtime.spec.containers) out.push({ where: `ClusterServingRuntime ${c.name}`, args: c.args, env: c.env ?? [] });
  if (kustomize) {
    for (const overlay of OVERLAYS) {
      for (const c of render(overlay).find((o) => o.kind === 'Deployment').spec.template.spec.containers) out.push({ where: `deploy/k8s/${overlay} ${c.name}`, args: c.args, env: c.env ?? [] });
    }
  } else {
    for (const f of ['base/deployment.yaml', 'overlays/gpu/deployment.yaml']) {
      for (const c of parse(readFileSync(join(K8S, f), 'utf8')).spec.template.spec.containers) out.push({ where: `deploy/k8s/${f} ${c.name}`, args: c.args, env: c.env ?? [] });
    }
  }
  return out.filter((i) => i.args);
}

/** Problems with one invocation: a flag --help does not list, a FERRY_ variable that sets nothing, a value serve refuses. */
function flagProblems({ args, env }) {
  const listed = new Set(flagsInHelp(serveHelp));
  const problems = [];
  if (args[0] !== 'serve') problems.push(`runs "${args[0]}", not serve`);
  for (const a of args.slice(1)) {
    const flag = a.split('=')[0];
    if (flag.startsWith('--') && !listed.has(flag)) problems.push(`${flag} is not in ferry serve --help`);
  }
  const known = new Set([...SERVE_FLAGS.map(envName), 'FERRY_DEBUG']);
  for (const e of env) if (e.name.startsWith('FERRY_') && !known.has(e.name)) problems.push(`${e.name} is no ferry serve setting`);
  try {
    serveSettings(args.slice(1), Object.fromEntries(env.filter((e) => e.name.startsWith('FERRY_')).map((e) => [e.name, e.value])));
  } catch (err) {
    problems.push(err.message);
  }
  return problems;
}

test('every flag and FERRY_ variable the manifests and the Dockerfile pass to ferry serve is one it lists, with a value it takes', () => {
  const all = serveInvocations();
  assert.ok(all.length >= 3, all.map((i) => i.where).join());
  for (const inv of all) assert.deepEqual(flagProblems(inv), [], `${inv.where}: ${inv.args.join(' ')}`);
});

test('the flag check fails on a flag serve does not take, a variable that sets nothing, a bad value', () => {
  const store = flagProblems({ args: ['serve', '--model-store=/mnt/models'], env: [] });
  assert.equal(store[0], '--model-store is not in ferry serve --help');
  assert.match(store[1], /Unknown option '--model-store'/, 'and serve itself refuses it');
  assert.deepEqual(flagProblems({ args: ['serve'], env: [{ name: 'FERRY_THREAD', value: '2' }] }), ['FERRY_THREAD is no ferry serve setting']);
  assert.deepEqual(flagProblems({ args: ['serve', '--http-port=80800'], env: [] }), ['--http-port must be an integer from 0 to 65535 (got "80800")']);
});
