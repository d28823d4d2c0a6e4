// A chaos-proof AI producer: streams one turn (ai-output create, N appends at a steady rate, a
// terminal append) through whichever node answers, the way a well-behaved agent backend does —
// every request idempotent (message_id on the create, op_id on each append), retried with
// backoff on 503 and on connection errors, failing over to another node. It records what was
// acknowledged: that is the transcript every audit checks against.
import type { NodeProc } from '../../test/helpers/node-cluster.ts';
import { APP } from '../../test/integration/rest-helpers.ts';

export interface ProducerOptions {
  readonly nodes: () => readonly NodeProc[];
  readonly channel: string;
  readonly tokens: number;
  readonly ratePerSecond: number;
  /** The node index to start on. */
  readonly startAt?: number;
  /** Give up on one request after this long (the scenario's stall bound). */
  readonly requestDeadlineMs?: number;
  /** Stop before the terminal append (a producer that "dies" mid-stream). */
  readonly abandonAfter?: number;
  readonly tokenText?: (i: number, tokens: number) => string;
}

export interface ProducerResult {
  readonly channel: string;
  readonly messageSerial: string;
  /** Concatenation of every acknowledged append, in order. */
  readonly acknowledged: string;
  readonly appends: number;
  readonly retries: number;
  readonly failovers: number;
  /** Longest time one append took to be acknowledged, retries included. */
  readonly maxStallMs: number;
  readonly completed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A definitive refusal (4xx other than 429): retrying or failing over cannot help. */
export class RefusedError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export class TurnProducer {
  readonly #o: ProducerOptions;
  #node: number;
  #retries = 0;
  #failovers = 0;
  #aborted: string | undefined;
  #progress: { messageSerial: string | undefined; acknowledged: string; appends: number } = {
    messageSerial: undefined,
    acknowledged: '',
    appends: 0,
  };

  constructor(opts: ProducerOptions) {
    this.#o = opts;
    this.#node = opts.startAt ?? 0;
  }

  /** What was acknowledged so far (for a run that ended in a refusal). */
  get progress(): {
    readonly messageSerial: string | undefined;
    readonly acknowledged: string;
    readonly appends: number;
  } {
    return this.#progress;
  }

  /** Makes the run fail at its next request or retry (the scenario's watchdog). */
  abort(reason: string): void {
    this.#aborted = reason;
  }

  /** One request, retried until acknowledged or the deadline; the parsed 200 body. */
  async #call(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    const deadline = Date.now() + (this.#o.requestDeadlineMs ?? 30_000);
    let delay = 50;
    for (;;) {
      if (this.#aborted) throw new Error(`producer aborted: ${this.#aborted}`);
      const nodes = this.#o.nodes();
      const node = nodes[this.#node % nodes.length] as NodeProc;
      try {
        const r = await node.rest(method, path, body);
        if (r.status === 200) return r.json();
        if (r.status !== 503 && r.status !== 429)
          throw new RefusedError(`${method} ${path}: ${r.status} ${r.text}`, r.status);
      } catch (err) {
        if (err instanceof RefusedError) throw err;
        // The node is gone or not answering: try the next one.
        this.#node++;
        this.#failovers++;
      }
      this.#retries++;
      if (Date.now() > deadline) throw new Error(`${method} ${path}: not acknowledged within the deadline`);
      await sleep(delay);
      delay = Math.min(1000, delay * 2);
    }
  }

  async run(): Promise<ProducerResult> {
    const { channel } = this.#o;
    const created = await this.#call('POST', `/apps/${APP.id}/events`, {
      name: 'ai-output',
      channel,
      data: '',
      message_id: `chaos-${channel}`,
      extras: { ai: { transport: { status: 'streaming', role: 'assistant' } } },
    });
    const ms = ((created.channels as Record<string, Record<string, unknown>>)[channel] as Record<string, unknown>)
      .message_serial as string;
    const path = `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}/append`;
    this.#progress.messageSerial = ms;
    let acknowledged = '';
    let maxStallMs = 0;
    const gap = 1000 / this.#o.ratePerSecond;
    const t0 = Date.now();
    const last = this.#o.abandonAfter ?? this.#o.tokens;
    for (let i = 0; i < last; i++) {
      const tok = this.#o.tokenText?.(i, this.#o.tokens) ?? `t${i} `;
      const started = Date.now();
      await this.#call('POST', path, { data: tok, op_id: `op-${i}` });
      maxStallMs = Math.max(maxStallMs, Date.now() - started);
      acknowledged += tok;
      this.#progress.acknowledged = acknowledged;
      this.#progress.appends = i + 1;
      const wait = t0 + (i + 1) * gap - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const completed = this.#o.abandonAfter === undefined;
    if (completed) {
      await this.#call('POST', path, {
        data: '',
        op_id: 'op-terminal',
        extras: { ai: { transport: { status: 'complete', role: 'assistant' } } },
      });
    }
    return {
      channel,
      messageSerial: ms,
      acknowledged,
      appends: last,
      retries: this.#retries,
      failovers: this.#failovers,
      maxStallMs,
      completed,
    };
  }
}
