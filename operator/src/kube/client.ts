// The operator's Kubernetes client: get/list/create/replace/delete, server-side apply with ONE
// field manager, status writes through the /status subresource, and watches. Every call has a
// deadline (AbortSignal) and is retried with full-jitter backoff on transient errors only.
import type { KubeObject } from '../render/meta.ts';
import type { Clock } from './clock.ts';
import { isNotFound, KubeTimeoutError } from './errors.ts';
import { apiVersionOf, type ResourceType, resourceOf, resourcePath } from './resources.ts';
import { DEFAULT_RETRY, withRetry } from './retry.ts';
import type { Query, RequestOptions, Transport } from './transport.ts';

/** A watch silent this long (no event, no bookmark) is taken for dead. */
export const WATCH_IDLE_MS = 150_000;

/** The one field manager of every write the operator makes (children and status). */
export const FIELD_MANAGER = 'aitransport-operator';

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
  readonly signal?: AbortSignal;
}

export interface WatchOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly resourceVersion: string;
  /** Server-side end of the watch; the informer then re-watches from the last version. */
  readonly timeoutSeconds: number;
  readonly signal?: AbortSignal;
}

export interface RawWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

export interface CallOptions {
  /** Per-attempt deadline (default: the client's). */
  readonly timeoutMs?: number;
  /** Total tries, the first included (default: the client's); 1 = no retry. */
  readonly attempts?: number;
  readonly signal?: AbortSignal;
}

export interface KubeClientOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly random?: () => number;
  /** Called before each retry (metrics, debug logs). */
  readonly onRetry?: (what: string, err: unknown, attempt: number, delayMs: number) => void;
}

function nameOf(obj: KubeObject): { namespace: string | undefined; name: string } {
  const name = obj.metadata?.name;
  if (!name) throw new TypeError(`${obj.kind}: metadata.name is missing`);
  return { namespace: obj.metadata?.namespace, name };
}

export class KubeClient {
  readonly #o: KubeClientOptions;

  constructor(o: KubeClientOptions) {
    this.#o = o;
  }

  async #call<T>(req: Omit<RequestOptions, 'timeoutMs'>, call: CallOptions = {}): Promise<T> {
    const what = `${req.method} ${req.path}`;
    return withRetry(
      () => this.#o.transport.request<T>({ ...req, timeoutMs: call.timeoutMs ?? this.#o.timeoutMs ?? 10_000 }),
      {
        attempts: call.attempts ?? this.#o.attempts ?? DEFAULT_RETRY.attempts,
        baseMs: this.#o.baseDelayMs ?? DEFAULT_RETRY.baseMs,
        maxMs: this.#o.maxDelayMs ?? DEFAULT_RETRY.maxMs,
        clock: this.#o.clock,
        ...(this.#o.random ? { random: this.#o.random } : {}),
        ...(call.signal ? { signal: call.signal } : {}),
        onRetry: (err, attempt, delay) => this.#o.onRetry?.(what, err, attempt, delay),
      },
    );
  }

  /** GET a path as is (discovery documents). */
  getRaw<T>(path: string, call?: CallOptions): Promise<T> {
    return this.#call<T>({ method: 'GET', path, signal: call?.signal }, call);
  }

  /** One object, or undefined when it does not exist. */
  async get<T extends KubeObject>(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    call?: CallOptions,
  ): Promise<T | undefined> {
    try {
      return await this.#call<T>({ method: 'GET', path: resourcePath(t, namespace, name), signal: call?.signal }, call);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One page of a list (the informer pages with limit/continue). */
  list<T extends KubeObject>(t: ResourceType, o: ListOptions = {}): Promise<ListResult<T>> {
    const query: Query = {
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.limit,
      continue: o.continue,
    };
    return this.#call<ListResult<T>>({ method: 'GET', path: resourcePath(t, o.namespace), query, signal: o.signal });
  }

  create<T extends KubeObject>(obj: T, call?: CallOptions): Promise<T> {
    const { namespace } = nameOf(obj);
    return this.#call<T>(
      {
        method: 'POST',
        path: resourcePath(resourceOf(obj), namespace),
        query: { fieldManager: FIELD_MANAGER },
        body: obj,
        signal: call?.signal,
      },
      call,
    );
  }

  /** PUT with the object's resourceVersion: optimistic concurrency (a 409 Conflict is not retried). */
  replace<T extends KubeObject>(obj: T, call?: CallOptions): Promise<T> {
    const { namespace, name } = nameOf(obj);
    return this.#call<T>(
      {
        method: 'PUT',
        path: resourcePath(resourceOf(obj), namespace, name),
        query: { fieldManager: FIELD_MANAGER },
        body: obj,
        signal: call?.signal,
      },
      call,
    );
  }

  /**
   * Server-side apply: the operator owns exactly the fields in `obj`. force=true takes those
   * fields back from any other manager that changed them (we are their controller); fields
   * other managers set and `obj` leaves out are never touched.
   */
  apply<T extends KubeObject>(obj: T, o: CallOptions & { subresource?: 'status'; dryRun?: boolean } = {}): Promise<T> {
    const { namespace, name } = nameOf(obj);
    return this.#call<T>(
      {
        method: 'PATCH',
        path: resourcePath(resourceOf(obj), namespace, name, o.subresource),
        query: { fieldManager: FIELD_MANAGER, force: true, dryRun: o.dryRun ? 'All' : undefined },
        body: obj,
        contentType: 'application/apply-patch+yaml',
        signal: o.signal,
      },
      o,
    );
  }

  /**
   * Status through the /status subresource by server-side apply. SSA rather than a merge patch:
   * the operator owns the whole status, so applying the full computed status removes fields it
   * no longer sets (a merge patch would need explicit nulls), conditions merge per type (the CRD
   * marks them a list-map) and no resourceVersion precondition can conflict with spec edits.
   */
  applyStatus<T extends KubeObject & { status?: unknown }>(
    t: ResourceType,
    namespace: string,
    name: string,
    status: unknown,
    call?: CallOptions,
  ): Promise<T> {
    const body = { apiVersion: apiVersionOf(t), kind: t.kind, metadata: { name, namespace }, status };
    return this.apply(body as T, { ...call, subresource: 'status' });
  }

  /** JSON merge patch (used for Event series updates). */
  mergePatch<T extends KubeObject>(
    t: ResourceType,
    namespace: string,
    name: string,
    patch: unknown,
    call?: CallOptions,
  ): Promise<T> {
    return this.#call<T>(
      {
        method: 'PATCH',
        path: resourcePath(t, namespace, name),
        query: { fieldManager: FIELD_MANAGER },
        body: patch,
        contentType: 'application/merge-patch+json',
        signal: call?.signal,
      },
      call,
    );
  }

  /**
   * JSON patch (RFC 6902). A `test` operation makes it conditional: the rollout annotates a pod
   * only if its uid is still the one it drained (never a recreated successor).
   */
  jsonPatch<T extends KubeObject>(
    t: ResourceType,
    namespace: string,
    name: string,
    ops: ReadonlyArray<{ op: 'add' | 'replace' | 'remove' | 'test'; path: string; value?: unknown }>,
    call?: CallOptions,
  ): Promise<T> {
    return this.#call<T>(
      {
        method: 'PATCH',
        path: resourcePath(t, namespace, name),
        query: { fieldManager: FIELD_MANAGER },
        body: ops,
        contentType: 'application/json-patch+json',
        signal: call?.signal,
      },
      call,
    );
  }

  /**
   * Deletes one object; false when it was already gone. `uid` makes the delete conditional
   * (never deletes a same-named successor).
   */
  async delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    o: CallOptions & { uid?: string; propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' } = {},
  ): Promise<boolean> {
    try {
      await this.#call(
        {
          method: 'DELETE',
          path: resourcePath(t, namespace, name),
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            propagationPolicy: o.propagationPolicy ?? 'Background',
            ...(o.uid ? { preconditions: { uid: o.uid } } : {}),
          },
          signal: o.signal,
        },
        o,
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * One watch request; resolves when the server ends it (timeoutSeconds) or when it went
   * silent, rejects on errors. The API server sends a bookmark about every minute to watches
   * that allow them, so nothing at all for WATCH_IDLE_MS means a dead connection (a partition
   * that sent no RST): end it, and the informer re-watches from the last version it saw.
   */
  async watch(t: ResourceType, o: WatchOptions, onEvent: (e: RawWatchEvent) => void): Promise<void> {
    try {
      await this.#o.transport.stream(
        {
          method: 'GET',
          path: resourcePath(t, o.namespace),
          query: {
            watch: true,
            resourceVersion: o.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: o.timeoutSeconds,
            labelSelector: o.labelSelector,
          },
          idleTimeoutMs: Math.min((o.timeoutSeconds + 30) * 1000, WATCH_IDLE_MS),
          signal: o.signal,
        },
        (line) => {
          let e: RawWatchEvent;
          try {
            e = JSON.parse(line) as RawWatchEvent;
          } catch {
            return; // a torn line on a dying connection; the watch ends right after
          }
          onEvent(e);
        },
      );
    } catch (err) {
      if (err instanceof KubeTimeoutError) return;
      throw err;
    }
  }
}
