// Where the node's channel policies come from: inline in the config, or a `channel-policies.json`
// file the operator mounts from the cluster's ConfigMap and rewrites when a ChannelPolicy
// changes. The file is polled (ConfigMap volumes swap a symlink, which fs.watch misses) and
// re-applied when its content changes, without dropping any connection. A file that does not
// parse at start-up fails the start (STANDARDS F6); one that stops parsing later keeps the
// previous policies in force and is reported (`lastError`, metric, log).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type ChannelPolicy, parsePolicyDocument } from './channel-policies.ts';

/** GET /admin/policies, and the `policies` block of /admin/status. */
export interface PolicyStatus {
  /** `inline` (config file) or `file` (channelPolicies.file, hot-reloaded). */
  source: 'inline' | 'file';
  file: string | null;
  count: number;
  /** sha256 of the document in force (the operator compares it with what it rendered). */
  hash: string;
  generation: number;
  lastLoadedAtMs: number;
  /** The last reload that failed validation (the previous policies stay in force). */
  lastError: string | null;
}

export interface PolicySourceOptions {
  readonly file: string | undefined;
  readonly inline: readonly ChannelPolicy[];
  readonly intervalMs: number;
  /** Called with the new policies when they change (and once at start). */
  readonly apply: (policies: readonly ChannelPolicy[]) => void;
  readonly logger: Logger;
  readonly now: () => number;
  readonly onReload?: (result: 'applied' | 'unchanged' | 'failed') => void;
  readonly read?: (path: string) => Promise<string>;
}

export class PolicySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicySourceError';
  }
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class PolicySource {
  readonly #o: PolicySourceOptions;
  readonly #read: (path: string) => Promise<string>;
  #timer: NodeJS.Timeout | undefined;
  #hash = '';
  #count = 0;
  #generation = 0;
  #lastLoadedAtMs = 0;
  #lastError: string | null = null;
  #reloading: Promise<PolicyStatus> | undefined;

  constructor(opts: PolicySourceOptions) {
    this.#o = opts;
    this.#read = opts.read ?? ((p) => readFile(p, 'utf8'));
  }

  /** Loads the policies once (throws PolicySourceError when the file is unusable), then polls. */
  async start(): Promise<void> {
    if (this.#o.file === undefined) {
      this.#install(this.#o.inline, hashOf(JSON.stringify(this.#o.inline)));
      return;
    }
    const r = await this.#load();
    if (r === 'failed')
      throw new PolicySourceError(`channel policies ${this.#o.file}: ${this.#lastError ?? 'unreadable'}`);
    this.#timer = setInterval(() => void this.reload(), this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  status(): PolicyStatus {
    return {
      source: this.#o.file === undefined ? 'inline' : 'file',
      file: this.#o.file ?? null,
      count: this.#count,
      hash: this.#hash,
      generation: this.#generation,
      lastLoadedAtMs: this.#lastLoadedAtMs,
      lastError: this.#lastError,
    };
  }

  /** Re-reads the file now (no-op for inline policies); concurrent calls share one read. */
  reload(): Promise<PolicyStatus> {
    if (this.#o.file === undefined) return Promise.resolve(this.status());
    this.#reloading ??= this.#load()
      .then((r) => {
        this.#o.onReload?.(r);
        return this.status();
      })
      .finally(() => {
        this.#reloading = undefined;
      });
    return this.#reloading;
  }

  async #load(): Promise<'applied' | 'unchanged' | 'failed'> {
    const file = this.#o.file as string;
    let text: string;
    try {
      text = await this.#read(file);
    } catch (err) {
      return this.#fail(`cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const hash = hashOf(text);
    if (hash === this.#hash) return 'unchanged';
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.#fail('not valid JSON');
    }
    const parsed = parsePolicyDocument(raw);
    if (!parsed.ok) return this.#fail(parsed.issues.slice(0, 5).join('; '));
    this.#install(parsed.doc.policies, hash);
    this.#o.logger.info(
      { file, policies: parsed.doc.policies.length, generation: this.#generation },
      'channel policies loaded',
    );
    return 'applied';
  }

  #install(policies: readonly ChannelPolicy[], hash: string): void {
    this.#o.apply(policies);
    this.#hash = hash;
    this.#count = policies.length;
    this.#generation++;
    this.#lastLoadedAtMs = this.#o.now();
    this.#lastError = null;
  }

  #fail(message: string): 'failed' {
    if (this.#lastError !== message) {
      this.#o.logger.error(
        { file: this.#o.file, error: message },
        'channel policies not reloaded; keeping the previous ones',
      );
    }
    this.#lastError = message;
    return 'failed';
  }
}
