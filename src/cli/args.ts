/** Reading command-line flags, with messages that name the flag and say what to do. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function intFlag(value: string | undefined, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`} (got "${value}")`);
  }
  return n;
}

export function numFlag(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${flag} must be a number >= ${min} (got "${value}")`);
  return n;
}

export function listFlag(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestDistance) { best = c; bestDistance = dist; }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

/** The `--flags` a command's help text lists. */
export function flagsInHelp(help: string): string[] {
  return [...new Set([...help.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]))];
}

/**
 * One line for a command-line mistake, from node:util's parseArgs errors or a UsageError:
 * `unknown option --max-batch-szie; did you mean --max-batch-size? (ferry serve --help lists the options)`.
 */
export function usageMessage(err: Error & { code?: string }, command: string, help: string): string {
  const seeHelp = `ferry ${command} --help lists the options`;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'(-{1,2}[^']+)'/.exec(err.message)?.[1] ?? err.message;
    const name = flag.split('=')[0]!;
    const guess = name.startsWith('--') ? closest(name, flagsInHelp(help)) : undefined;
    return `unknown option ${name}${guess ? `; did you mean ${guess}?` : ''} (${seeHelp})`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(--?[a-z][a-z0-9-]*)/.exec(err.message)?.[1];
    return `${flag ? `${flag} needs a value` : err.message.split('\n')[0]} (${seeHelp})`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']+)'/.exec(err.message)?.[1];
    return `unexpected argument${arg ? ` "${arg}"` : ''} (${seeHelp})`;
  }
  return `${err.message} (${seeHelp})`;
}
