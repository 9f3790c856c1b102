/** The progress line of long work on stderr: rewritten in place on a terminal, an occasional plain line otherwise. */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #everyMs: number;
  #last = 0;
  #dirty = false;

  /** @param everyMs on a non-terminal, least time between two lines. @defaultValue 5000 */
  constructor(stream: NodeJS.WriteStream = process.stderr, everyMs = 5000) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#everyMs = everyMs;
  }

  update(text: string): void {
    if (this.#tty) {
      this.#stream.write(`\r\x1b[2K${text}`);
      this.#dirty = true;
      return;
    }
    const now = Date.now();
    if (now - this.#last < this.#everyMs) return;
    this.#last = now;
    this.#stream.write(`${text}\n`);
  }

  /** Clears the line (terminal) before a result is printed. */
  done(): void {
    if (this.#tty && this.#dirty) this.#stream.write('\r\x1b[2K');
    this.#dirty = false;
    this.#last = 0;
  }
}

