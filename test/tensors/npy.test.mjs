// .npy / .npz: round trips in TypeScript, files numpy wrote (stored, deflated, Fortran order,
// big-endian, format 2.0), and files ferry wrote read back by numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy, encodeNpz, parseNpy, parseNpz, readNpz, readNpyDir, writeNpz, crc32 } from '../../dist/tensors/npy.js';
import { fromHalfBits, toHalfBits } from '../../dist/tensors/dtype.js';
import { SKIP_NO_NUMPY, python, tempDir } from '../bridge/helpers.mjs';

const SAMPLES = {
  BOOL: [Uint8Array, [1, 0, 1, 1, 0, 0]],
  UINT8: [Uint8Array, [0, 1, 127, 128, 254, 255]],
  UINT16: [Uint16Array, [0, 1, 65535, 300, 2, 3]],
  UINT32: [Uint32Array, [0, 1, 4294967295, 7, 8, 9]],
  UINT64: [BigUint64Array, [0n, 1n, 18446744073709551615n, 2n ** 53n + 1n, 5n, 6n]],
  INT8: [Int8Array, [-128, -1, 0, 1, 127, 5]],
  INT16: [Int16Array, [-32768, -1, 0, 1, 32767, 5]],
  INT32: [Int32Array, [-2147483648, -1, 0, 1, 2147483647, 5]],
  INT64: [BigInt64Array, [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n, 2n ** 53n + 1n]],
  FP16: [Uint16Array, [0, 1, -2, 0.5, 65504, -0.25].map(toHalfBits)],
  FP32: [Float32Array, [0, 1.5, -2.25, 3.4e38, -1e-30, Infinity]],
  FP64: [Float64Array, [0, Math.PI, -Math.E, 1e300, -1e-300, NaN]],
};

function sample(datatype, shape = [2, 3]) {
  const [Ctor, values] = SAMPLES[datatype];
  return { datatype, shape, data: Ctor.from(values) };
}

test('every dtype round-trips through .npy and .npz (incl. scalars and empty arrays)', () => {
  for (const dt of Object.keys(SAMPLES)) {
    const t = sample(dt);
    const back = parseNpy(encodeNpy(t));
    assert.equal(back.datatype, dt);
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual([...back.data], [...t.data], dt);
  }
  const scalar = { datatype: 'FP32', shape: [], data: Float32Array.of(7) };
  const empty = { datatype: 'INT64', shape: [0, 4], data: new BigInt64Array(0) };
  const vec = { datatype: 'FP64', shape: [3], data: Float64Array.of(1, 2, 3) };
  const npz = parseNpz(encodeNpz([['s', scalar], ['e', empty], ['v', vec]]));
  assert.deepEqual([...npz.keys()], ['s', 'e', 'v'], 'order kept');
  assert.deepEqual(npz.get('s').shape, []);
  assert.equal(npz.get('s').data[0], 7);
  assert.deepEqual(npz.get('e').shape, [0, 4]);
  assert.deepEqual([...npz.get('v').data], [1, 2, 3]);
});

test('headers are padded to 64 bytes; typed arrays come back aligned even from odd zip offsets', () => {
  const bytes = encodeNpy(sample('FP64'));
  assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0);
  const npz = encodeNpz([['odd_name_', sample('INT8')], ['f', sample('FP64')]]);
  const t = parseNpz(npz).get('f');
  assert.equal(t.data.byteOffset % 8, 0);
  assert.equal(t.data[1], Math.PI);
});

test('malformed files are BAD_NPY errors naming the problem', () => {
  assert.throws(() => parseNpy(Buffer.from('not numpy at all')), { code: 'BAD_NPY', message: /magic/ });
  const complex = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 70, 0]),
    Buffer.from("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }".padEnd(69) + '\n'), Buffer.alloc(8)]);
  assert.throws(() => parseNpy(complex, 'c.npy'), { code: 'BAD_NPY', message: /c\.npy: dtype '<c8'/ });
  const full = encodeNpy(sample('FP32'));
  const short = full.subarray(0, full.length - 4);
  assert.throws(() => parseNpy(short), { code: 'BAD_NPY', message: /needs 24/ });
  const zip = Buffer.from(encodeNpz([['a', sample('FP32')]]));
  zip[120] ^= 0xff; // a data byte
  assert.throws(() => parseNpz(zip, 'z.npz'), { code: 'BAD_NPY', message: /CRC-32/ });
  assert.throws(() => parseNpz(Buffer.alloc(64)), { code: 'BAD_NPY', message: /not a zip/ });
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the standard CRC-32 check value');
});

// Values numpy writes and ferry must read exactly.
const WRITE = String.raw`
import json, sys, os, numpy as np
out = sys.argv[1]
vals = {
 "b1": [True, False, True, True, False, False], "u1": [0, 1, 127, 128, 254, 255], "u2": [0, 1, 65535, 300, 2, 3],
 "u4": [0, 1, 4294967295, 7, 8, 9], "u8": [0, 1, 18446744073709551615, 2**53 + 1, 5, 6],
 "i1": [-128, -1, 0, 1, 127, 5], "i2": [-32768, -1, 0, 1, 32767, 5], "i4": [-2147483648, -1, 0, 1, 2147483647, 5],
 "i8": [-2**63, -1, 0, 1, 2**63 - 1, 2**53 + 1], "f2": [0, 1, -2, 0.5, 65504, -0.25],
 "f4": [0, 1.5, -2.25, 3.4e38, -1e-30, 1.0], "f8": [0, 3.141592653589793, -2.718281828459045, 1e300, -1e-300, 2.0],
}
arrays = {k: np.array(v, dtype=np.dtype(k)).reshape(2, 3) for k, v in vals.items()}
np.savez(os.path.join(out, "stored.npz"), **arrays)
np.savez_compressed(os.path.join(out, "deflated.npz"), **arrays)
os.makedirs(os.path.join(out, "dir"), exist_ok=True)
for k, a in arrays.items():
    np.save(os.path.join(out, "dir", k + ".npy"), a)
f = np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
np.save(os.path.join(out, "fortran.npy"), f)
np.save(os.path.join(out, "big.npy"), np.arange(6, dtype=">i8").reshape(2, 3) - 3)
np.save(os.path.join(out, "bigf.npy"), np.linspace(-1, 1, 5).astype(">f4"))
with open(os.path.join(out, "v2.npy"), "wb") as fh:
    np.lib.format.write_array(fh, np.arange(5, dtype=np.int16), version=(2, 0))
np.save(os.path.join(out, "scalar.npy"), np.float64(2.5))
json.dump({k: [str(x) if k in ("u8", "i8") else (float(x) if k[0] == "f" else int(x)) for x in v] for k, v in vals.items()},
          open(os.path.join(out, "expected.json"), "w"))
`;

const DESCR = { b1: 'BOOL', u1: 'UINT8', u2: 'UINT16', u4: 'UINT32', u8: 'UINT64', i1: 'INT8', i2: 'INT16', i4: 'INT32', i8: 'INT64', f2: 'FP16', f4: 'FP32', f8: 'FP64' };

function values(t) {
  if (t.datatype === 'FP16') return [...t.data].map(fromHalfBits);
  if (t.datatype === 'INT64' || t.datatype === 'UINT64') return [...t.data].map(String);
  return [...t.data];
}

test('reads what numpy writes: savez, savez_compressed, a directory, Fortran order, big-endian, format 2.0', { skip: SKIP_NO_NUMPY }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    python(WRITE, [dir]);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    for (const file of ['stored.npz', 'deflated.npz']) {
      const npz = await readNpz(join(dir, file));
      assert.deepEqual([...npz.keys()], Object.keys(expected), `${file} keys in order`);
      for (const [k, want] of Object.entries(expected)) {
        const t = npz.get(k);
        assert.equal(t.datatype, DESCR[k], `${file}:${k}`);
        assert.deepEqual(t.shape, [2, 3]);
        const round = k === 'f4' ? want.map(Math.fround) : want;
        assert.deepEqual(values(t), round, `${file}:${k}`);
      }
    }
    const fromDir = await readNpyDir(join(dir, 'dir'));
    assert.deepEqual([...fromDir.keys()], Object.keys(expected).sort());
    assert.deepEqual(values(fromDir.get('i8')), expected.i8);

    const { readNpy } = await import('../../dist/tensors/npy.js');
    const f = await readNpy(join(dir, 'fortran.npy'));
    assert.deepEqual(f.shape, [2, 3, 4]);
    assert.deepEqual([...f.data], Array.from({ length: 24 }, (_, i) => i), 'Fortran order is returned in C order');
    assert.deepEqual([...(await readNpy(join(dir, 'big.npy'))).data], [-3n, -2n, -1n, 0n, 1n, 2n]);
    assert.deepEqual([...(await readNpy(join(dir, 'bigf.npy'))).data], [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual([...(await readNpy(join(dir, 'v2.npy'))).data], [0, 1, 2, 3, 4]);
    const s = await readNpy(join(dir, 'scalar.npy'));
    assert.deepEqual(s.shape, []);
    assert.equal(s.data[0], 2.5);
  } finally {
    cleanup();
  }
});

test('numpy reads what ferry writes, every dtype', { skip: SKIP_NO_NUMPY }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const entries = Object.keys(SAMPLES).map((dt) => [dt.toLowerCase(), sample(dt)]);
    await writeNpz(join(dir, 'ferry.npz'), entries);
    const got = JSON.parse(python(String.raw`
import json, sys, numpy as np
d = np.load(sys.argv[1])
out = {}
for k in d.files:
    a = d[k]
    out[k] = {"dtype": a.dtype.str, "shape": list(a.shape),
              "values": [str(x) if a.dtype.kind in "iu" and a.dtype.itemsize == 8 else (None if a.dtype.kind == "f" and not np.isfinite(x) else x.item()) for x in a.ravel()]}
print(json.dumps(out))
`, [join(dir, 'ferry.npz')]));
    const descr = { bool: '|b1', uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8', fp16: '<f2', fp32: '<f4', fp64: '<f8' };
    for (const [k, t] of entries) {
      assert.equal(got[k].dtype, descr[k], k);
      assert.deepEqual(got[k].shape, [2, 3]);
      const want = k === 'bool' ? [...t.data].map(Boolean)
        : k === 'int64' || k === 'uint64' ? [...t.data].map(String)
          : values(t).map((v) => (Number.isFinite(v) ? v : null));
      if (k === 'fp32') assert.deepEqual(got[k].values.map((v) => (v === null ? null : Math.fround(v))), want, k);
      else assert.deepEqual(got[k].values, want, k);
    }
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'a.npy'), encodeNpy(sample('FP32')));
    assert.match(python('import numpy as np, sys; print(np.load(sys.argv[1]).tolist())', [join(dir, 'x', 'a.npy')]), /1\.5/);
  } finally {
    cleanup();
  }
});
