// Reading the README's examples: ```sh blocks, `$ command` lines (a trailing \ continues them), the
// lines shown after each as its output; and matching an output's shape against what is shown.

/** [{ line, commands: [{ command, output: string[], expectFailure }] }] for blocks with `$ ` lines. */
export function parseReadme(text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|console|bash)?\s*$/.test(lines[i]) || lines[i] === '```' && !isShell(lines, i)) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    const commands = [];
    for (let j = 0; j < body.length; j++) {
      if (!body[j].startsWith('$ ')) {
        if (commands.length) commands.at(-1).output.push(body[j]);
        continue;
      }
      let command = body[j].slice(2);
      while (command.endsWith('\\') && j + 1 < body.length) command = `${command.slice(0, -1)} ${body[++j].trim()}`;
      commands.push({ command: command.trim(), output: [], expectFailure: false });
    }
    for (const c of commands) {
      // A command whose shown output ends in an error code fails on purpose.
      c.expectFailure = c.output.some((l) => /\[[A-Z_]{4,}\]\s*$/.test(l)) && !c.command.includes('|| true');
    }
    if (commands.length) blocks.push({ line: start + 1, commands });
  }
  return blocks;
}

/** A bare ``` block counts when its first line is a `$ ` command. */
function isShell(lines, i) {
  return lines[i + 1]?.startsWith('$ ') ?? false;
}

const NUMBER = /[-+]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:e[-+]?\d+)?/gi;

/** A regex for one shown line: numbers free, runs of spaces flexible, `...` anything. */
function lineRegex(shown) {
  const parts = shown.trim().split('...').map((part) => {
    const tokens = [];
    let last = 0;
    for (const m of part.matchAll(NUMBER)) {
      tokens.push(escape(part.slice(last, m.index)), '[-+]?[\\d.,]*\\d(?:e[-+]?\\d+)?');
      last = m.index + m[0].length;
    }
    tokens.push(escape(part.slice(last)));
    return tokens.join('').replace(/(\\ |\s)+/g, '\\s+');
  });
  return new RegExp(parts.join('.*'));
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * undefined when every shown line (but `...` lines and blank ones) matches a line of `actual`, in
 * order; else what did not match.
 */
export function shapeMatches(shown, actual) {
  const got = actual.split('\n');
  let at = 0;
  for (const line of shown) {
    if (line.trim() === '' || line.trim() === '...') continue;
    const re = lineRegex(line);
    const found = got.findIndex((g, k) => k >= at && re.test(g));
    if (found < 0) return `no line like "${line.trim()}" (after line ${at + 1} of the output)`;
    at = found + 1;
  }
  return undefined;
}
