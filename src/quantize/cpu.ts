/**
 * Which int8 weights are accurate on the CPU a quantized model will run on.
 *
 * ONNX Runtime's x86 CPU kernels multiply uint8 activations by int8 weights. Without VNNI they do
 * it with VPMADDUBSW, which adds each pair of adjacent u8 x s8 products into a saturating int16:
 * 2 x 255 x 127 = 64770 does not fit, and large activations against large weights clip (measured
 * here, Skylake-SP without VNNI: Fashion-MNIST int8 lost 0.84 points of top-1, PP-OCRv4 rec fell
 * to cosine 0.9898). With VNNI (VPDPBUSD: AVX512-VNNI, AVX-VNNI, and AMX) the products go
 * straight into int32 and nothing clips; ARM64's kernels widen before they add. ONNX Runtime's
 * own advice is its quantizer's `reduce_range`: weights in [-64, 64], so 2 x 255 x 64 = 32640 fits.
 *
 *   const scheme = int8Scheme('auto');  // { target: 'avx512', weightRange: 'pairs', weightType: 'int8', why: '...' }
 */
import { readFileSync } from 'node:fs';
import { arch } from 'node:process';
import type { QuantType, WeightRange } from './qparams.js';

/** Where the quantized model will run: 'auto' is the CPU running ferry. */
export type TargetCpu = 'auto' | 'vnni' | 'avx512' | 'avx2' | 'arm64' | 'any';
export const TARGET_CPUS: readonly TargetCpu[] = ['auto', 'vnni', 'avx512', 'avx2', 'arm64', 'any'];

export interface CpuInfo {
  /** 'x64', 'arm64' ... (Node's process.arch). */
  readonly arch: string;
  /** The model name, as /proc/cpuinfo says ('' when unknown). */
  readonly model: string;
  /** The int8-relevant flags present: avx2, avx512bw, avx512_vnni, avx_vnni, amx_int8 ... */
  readonly flags: readonly string[];
}

/** Flags that give x86 VPDPBUSD (u8 x s8 products summed in int32) or AMX's int8 tiles. */
export const VNNI_FLAGS: readonly string[] = ['avx512_vnni', 'avx_vnni', 'amx_int8'];
const INT8_FLAGS = ['avx2', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'avx_vnni_int8', 'amx_tile', 'amx_int8', 'asimddp', 'i8mm'];

/** This machine's CPU, from /proc/cpuinfo (Linux); elsewhere only its architecture. */
export function detectCpu(cpuinfo?: string): CpuInfo {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const field = (name: string): string => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text!)?.[1]?.trim() ?? '';
  const flags = new Set(`${field('flags')} ${field('Features')}`.split(/\s+/).filter(Boolean));
  const given = cpuinfo !== undefined ? (/^Features\s*:/m.test(cpuinfo) ? 'arm64' : 'x64') : undefined;
  return {
    arch: given ?? arch,
    model: field('model name') || field('Model') || field('CPU part'),
    flags: INT8_FLAGS.filter((f) => flags.has(f)),
  };
}

/** The int8 scheme chosen for a target, and why: reported by `ferry quantize`. */
export interface Int8Scheme {
  /** The target after 'auto' was resolved. */
  readonly target: Exclude<TargetCpu, 'auto'>;
  /** How far the weights reach (qparams.ts). */
  readonly weightRange: WeightRange;
  /** The weights' element type: 'uint8' (zero point 128) runs on u8 x u8 kernels. */
  readonly weightType: QuantType;
  /** The CPU detected, for 'auto'. */
  readonly cpu?: CpuInfo;
  /** One line: what was chosen and why. */
  readonly why: string;
}

/** The target a CPU is: 'vnni' with VNNI or AMX, else 'avx512' / 'avx2' (x86), 'arm64', or 'any' when unknown. */
export function targetOf(cpu: CpuInfo): Exclude<TargetCpu, 'auto'> {
  if (cpu.arch === 'arm64') return 'arm64';
  if (cpu.arch !== 'x64' && cpu.arch !== 'ia32') return 'any';
  if (cpu.flags.some((f) => VNNI_FLAGS.includes(f))) return 'vnni';
  if (cpu.flags.includes('avx512bw')) return 'avx512';
  if (cpu.flags.includes('avx2')) return 'avx2';
  return 'any';
}

/** Picks the weight range for `target` ('auto': the CPU running ferry, or the `cpu` given). */
export function int8Scheme(target: TargetCpu = 'auto', cpu?: CpuInfo): Int8Scheme {
  const info = target === 'auto' ? cpu ?? detectCpu() : undefined;
  const t = info ? targetOf(info) : (target as Exclude<TargetCpu, 'auto'>);
  const on = info ? `this CPU (${info.model || info.arch}${info.arch === 'x64' ? `: ${info.flags.join(' ') || 'no AVX2'}` : ''})` : `--target-cpu ${t}`;
  const base = { target: t, ...(info && { cpu: info }) };
  switch (t) {
    case 'vnni':
      return { ...base, weightRange: 'full', weightType: 'int8', why: `weights in [-127, 127]: ${on} has VNNI or AMX, which add u8 x s8 products in int32` };
    case 'arm64':
      return { ...base, weightRange: 'full', weightType: 'int8', why: `weights in [-127, 127]: ${on} is ARM64, whose int8 kernels add products in 32 bits` };
    case 'avx512':
    case 'avx2':
      return { ...base, weightRange: 'pairs', weightType: 'int8', why: `weights in [-127, 127] with each pair the u8 x s8 kernel adds in int16 (VPMADDUBSW) within 128, so nothing saturates: ${on} has no VNNI (--target-cpu vnni for a VNNI machine)` };
    default:
      return { ...base, weightRange: 'pairs', weightType: 'int8', why: `weights in [-127, 127] with each pair an x86 kernel without VNNI adds in int16 within 128: exact on every CPU ONNX Runtime runs (${info ? `${on}: not one ferry knows` : '--target-cpu any'})` };
  }
}

/** How the report names a weight scheme. */
export function weightLabel(range: WeightRange, type: QuantType): string {
  const r = range === 'full' ? '[-127, 127]' : range === 'pairs' ? '[-127, 127], each pair the kernel adds in int16 within 128' : '[-64, 64] (reduce_range)';
  return type === 'uint8' ? `uint8 around 128, ${r} (u8 x u8 kernels)` : `int8 ${r}`;
}
