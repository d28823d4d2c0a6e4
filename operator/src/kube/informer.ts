// A list-watch cache of one resource (in one namespace, or all), like client-go's reflector:
// list (paged) → watch from the list's resourceVersion → re-watch where the last one ended.
// A 410 Gone (the version was compacted away) relists at once; any other failure (the API
// server restarting, a broken connection, a 5xx) re-watches or relists after an exponential
// full-jitter backoff. It never gives up until stop(): client-node's informer stops on the first
// error and leaves the restart to its caller (docs/testing-k8s.md).
import type { KubeObject } from '../render/meta.ts';
import type { KubeClient } from './client.ts';
import type { Clock } from './clock.ts';
import { errorMessage, isGone, KubeApiError } from './errors.ts';
import { apiVersionOf, type ResourceType } from './resources.ts';
import { type BackoffOptions, backoffDelay } from './retry.ts';

export type InformerEventType = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: InformerEventType, obj: T, old: T | undefined) => void;

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; reason?: string; message?: string };
}

/** Where an informer gets its data (a KubeClient in production, a fake in unit tests). */
export interface ListWatchSource<T> {
  list(
    o: { limit: number; continue?: string },
    signal: AbortSignal,
  ): Promise<{ items: T[]; metadata: { resourceVersion?: string; continue?: string } }>;
  watch(
    o: { resourceVersion: string; timeoutSeconds: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export interface InformerOptions {
  readonly clock: Clock;
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  readonly pageSize?: number;
  /** Server-side watch timeout is drawn from [min, 2·min) seconds, like client-go (spreads re-watches). */
  readonly minWatchSeconds?: number;
  /** `consecutive`: failures in a row, this one included (0 for a 410 relist). */
  readonly onRestart?: (reason: 'gone' | 'error', err: unknown, delayMs: number, consecutive: number) => void;
  readonly onHandlerError?: (err: unknown) => void;
}

export function objectKey(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

class GoneError extends Error {}

export class Informer<T extends KubeObject> {
  readonly name: string;
  readonly #source: ListWatchSource<T>;
  readonly #o: InformerOptions;
  readonly #store = new Map<string, T>();
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #syncWaiters: Array<() => void> = [];
  #resourceVersion = '';
  #synced = false;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(name: string, source: ListWatchSource<T>, o: InformerOptions) {
    this.name = name;
    this.#source = source;
    this.#o = o;
  }

  onEvent(h: InformerHandler<T>): void {
    this.#handlers.push(h);
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache (or at once when stopped). */
  whenSynced(): Promise<void> {
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#store.get(`${namespace ?? ''}/${name}`);
  }

  list(namespace?: string): T[] {
    const all = [...this.#store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    this.#loop = this.#run(this.#stop.signal);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const w of this.#syncWaiters.splice(0)) w();
    await this.#loop;
    this.#loop = undefined;
  }

  #emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const h of this.#handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.#o.onHandlerError?.(err);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    for (;;) {
      try {
        const page = await this.#source.list(
          { limit: this.#o.pageSize ?? 500, ...(cont ? { continue: cont } : {}) },
          signal,
        );
        items.push(...page.items);
        rv = page.metadata.resourceVersion ?? '';
        cont = page.metadata.continue || undefined;
        if (!cont) break;
      } catch (err) {
        // The continue token expired mid-list: start over from the first page.
        if (cont && isGone(err)) {
          items.length = 0;
          cont = undefined;
          continue;
        }
        throw err;
      }
    }
    const fresh = new Map(items.map((o) => [objectKey(o), o]));
    for (const [key, old] of [...this.#store]) {
      if (!fresh.has(key)) {
        this.#store.delete(key);
        this.#emit('delete', old, old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.#store.get(key);
      this.#store.set(key, obj);
      if (!old) this.#emit('add', obj, undefined);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit('update', obj, old);
    }
    this.#resourceVersion = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  #apply(e: WatchEvent<T>): void {
    const obj = e.object;
    if (e.type === 'ERROR') {
      if (obj.code === 410) throw new GoneError(obj.message ?? 'resource version too old');
      throw new KubeApiError('WATCH', this.name, obj.code ?? 500, obj);
    }
    const rv = obj.metadata?.resourceVersion;
    if (e.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const key = objectKey(obj);
    const old = this.#store.get(key);
    if (e.type === 'DELETED') {
      this.#store.delete(key);
      this.#emit('delete', obj, old);
    } else {
      this.#store.set(key, obj);
      this.#emit(old ? 'update' : 'add', obj, old);
    }
    if (rv) this.#resourceVersion = rv;
  }

  async #watchOnce(signal: AbortSignal): Promise<void> {
    const inner = new AbortController();
    const both = AbortSignal.any([signal, inner.signal]);
    let failure: unknown;
    const min = this.#o.minWatchSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + (this.#o.random ?? Math.random)()));
    try {
      await this.#source.watch(
        { resourceVersion: this.#resourceVersion, timeoutSeconds },
        (e) => {
          if (failure !== undefined) return;
          try {
            this.#apply(e);
          } catch (err) {
            failure = err;
            inner.abort();
          }
        },
        both,
      );
    } catch (err) {
      if (failure === undefined) throw err;
    }
    if (failure !== undefined) throw failure;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.#resourceVersion) await this.#relist(signal);
        await this.#watchOnce(signal);
        failures = 0; // the server ended the watch normally: re-watch from where it stopped
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError || isGone(err)) {
          this.#resourceVersion = '';
          this.#o.onRestart?.('gone', err, 0, 0);
          continue;
        }
        const delay = backoffDelay(failures++, this.#o.backoff ?? { baseMs: 500, maxMs: 30_000 }, this.#o.random);
        this.#o.onRestart?.('error', new Error(`${this.name}: ${errorMessage(err)}`, { cause: err }), delay, failures);
        await this.#o.clock.sleep(delay, signal);
      }
    }
  }
}

/** The list-watch of one resource through the KubeClient (optionally one namespace and a label selector). */
export function clientSource<T extends KubeObject>(
  client: Pick<KubeClient, 'list' | 'watch'>,
  t: ResourceType,
  scope: { namespace?: string; labelSelector?: string },
): ListWatchSource<T> {
  const sel = scope.labelSelector ? { labelSelector: scope.labelSelector } : {};
  const ns = scope.namespace ? { namespace: scope.namespace } : {};
  const kind = { apiVersion: apiVersionOf(t), kind: t.kind };
  return {
    // List items come without apiVersion and kind (watch events carry them): stamp them, so every
    // cached object says what it is, however it got into the cache.
    list: async (o, signal) => {
      const page = await client.list<T>(t, { ...ns, ...sel, ...o, signal });
      return { ...page, items: page.items.map((i) => ({ ...i, ...kind })) };
    },
    watch: (o, onEvent, signal) =>
      client.watch(t, { ...ns, ...sel, ...o, signal }, (e) => onEvent(e as unknown as WatchEvent<T>)),
  };
}
