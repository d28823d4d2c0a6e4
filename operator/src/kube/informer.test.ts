import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../render/meta.ts';
import { KubeApiError } from './errors.ts';
import { FakeClock, settle } from './fake-clock.ts';
import { Informer, type ListWatchSource, type WatchEvent } from './informer.ts';

type Obj = KubeObject & { data?: string };
const obj = (name: string, rv: string, data = ''): Obj => ({
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  data,
});

/** A scripted API server: each list/watch call takes the next scripted behaviour. */
class FakeSource implements ListWatchSource<Obj> {
  lists: Array<() => { items: Obj[]; metadata: { resourceVersion: string; continue?: string } }> = [];
  watches: Array<(emit: (e: WatchEvent<Obj>) => void, signal: AbortSignal) => Promise<void>> = [];
  listCalls: Array<{ continue?: string }> = [];
  watchCalls: Array<{ resourceVersion: string }> = [];

  async list(o: { limit: number; continue?: string }) {
    this.listCalls.push(o.continue ? { continue: o.continue } : {});
    const next = this.lists.shift();
    if (!next) throw new Error('unexpected list');
    return next();
  }

  watch(o: { resourceVersion: string }, onEvent: (e: WatchEvent<Obj>) => void, signal: AbortSignal) {
    this.watchCalls.push({ resourceVersion: o.resourceVersion });
    const next = this.watches.shift();
    // Unscripted: hang until stopped (like an idle watch).
    if (!next) return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    return next(onEvent, signal);
  }
}

function setup() {
  const clock = new FakeClock();
  const source = new FakeSource();
  const events: string[] = [];
  const restarts: string[] = [];
  const inf = new Informer<Obj>('configmaps', source, {
    clock,
    random: () => 0.5,
    backoff: { baseMs: 1000, maxMs: 8000 },
    onRestart: (reason, _e, delay) => restarts.push(`${reason}:${delay}`),
  });
  inf.onEvent((type, o) => events.push(`${type} ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
  return { clock, source, events, restarts, inf };
}

describe('Informer', () => {
  it('lists every page, syncs, then watches from the list resourceVersion', async () => {
    const { source, events, inf } = setup();
    source.lists.push(
      () => ({ items: [obj('a', '1')], metadata: { resourceVersion: '', continue: 'p2' } }),
      () => ({ items: [obj('b', '2')], metadata: { resourceVersion: '10' } }),
    );
    source.watches.push(async (emit) => {
      emit({ type: 'MODIFIED', object: obj('a', '11', 'x') });
      emit({ type: 'ADDED', object: obj('c', '12') });
      emit({ type: 'DELETED', object: obj('b', '13') });
      emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } as Obj });
    });
    inf.start();
    await inf.whenSynced();
    await settle();
    expect(source.listCalls).toEqual([{}, { continue: 'p2' }]);
    expect(source.watchCalls.map((w) => w.resourceVersion)).toEqual(['10', '20']);
    expect(events).toEqual(['add a@1', 'add b@2', 'update a@11', 'add c@12', 'delete b@13']);
    expect(
      inf
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(inf.get('ns', 'a')?.data).toBe('x');
    await inf.stop();
  });

  it('relists at once on 410 Gone and reports objects deleted meanwhile', async () => {
    const { source, events, restarts, inf } = setup();
    source.lists.push(
      () => ({ items: [obj('a', '1'), obj('b', '2')], metadata: { resourceVersion: '5' } }),
      () => ({ items: [obj('a', '1'), obj('c', '30')], metadata: { resourceVersion: '40' } }),
    );
    source.watches.push(async (emit) => {
      emit({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } as Obj });
      emit({ type: 'ADDED', object: obj('ignored', '99') });
    });
    inf.start();
    await settle(20);
    expect(restarts).toEqual(['gone:0']);
    expect(source.watchCalls.map((w) => w.resourceVersion)).toEqual(['5', '40']);
    // a unchanged (same resourceVersion): no event; b vanished; c is new; the event after ERROR is dropped
    expect(events).toEqual(['add a@1', 'add b@2', 'delete b@2', 'add c@30']);
    await inf.stop();
  });

  it('survives an API server outage: backs off, then re-watches from the last version', async () => {
    const { clock, source, events, restarts, inf } = setup();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    source.lists.push(() => ({ items: [obj('a', '1')], metadata: { resourceVersion: '5' } }));
    source.watches.push(
      async (emit) => {
        emit({ type: 'MODIFIED', object: obj('a', '6') });
        throw refused; // connection dropped
      },
      async () => {
        throw refused; // server still down
      },
      async (emit) => {
        emit({ type: 'ADDED', object: obj('b', '7') });
      },
    );
    inf.start();
    await settle(20);
    expect(restarts).toEqual(['error:500']);
    await clock.advance(500);
    expect(restarts).toEqual(['error:500', 'error:1000']);
    await clock.advance(1000);
    expect(source.watchCalls.map((w) => w.resourceVersion)).toEqual(['5', '6', '6', '7']);
    expect(source.listCalls).toHaveLength(1);
    expect(events).toEqual(['add a@1', 'update a@6', 'add b@7']);
    await inf.stop();
  });

  it('retries a failing first list with backoff and only then reports synced', async () => {
    const { clock, source, inf } = setup();
    source.lists.push(
      () => {
        throw new KubeApiError('GET', '/x', 503, { reason: 'ServiceUnavailable' });
      },
      () => ({ items: [], metadata: { resourceVersion: '3' } }),
    );
    inf.start();
    await settle(10);
    expect(inf.hasSynced()).toBe(false);
    await clock.advance(500);
    expect(inf.hasSynced()).toBe(true);
    await inf.stop();
  });

  it('keeps running when a handler throws', async () => {
    const { source, inf } = setup();
    const seen: string[] = [];
    inf.onEvent(() => {
      throw new Error('handler bug');
    });
    inf.onEvent((_t, o) => seen.push(o.metadata?.name ?? ''));
    source.lists.push(() => ({ items: [obj('a', '1')], metadata: { resourceVersion: '1' } }));
    source.watches.push(async (emit) => emit({ type: 'ADDED', object: obj('b', '2') }));
    inf.start();
    await settle(10);
    expect(seen).toEqual(['a', 'b']);
    await inf.stop();
  });
});

describe('clientSource', () => {
  it('stamps apiVersion and kind on list items (the API server leaves them out)', async () => {
    const { clientSource } = await import('./informer.ts');
    const { RESOURCE } = await import('./resources.ts');
    const fake = {
      list: async () => ({ items: [{ metadata: { name: 'a', namespace: 'ns' } }], metadata: { resourceVersion: '1' } }),
      watch: async () => {},
    };
    const src = clientSource(fake as never, RESOURCE.statefulSet, { namespace: 'ns' });
    const page = await src.list({ limit: 10 }, new AbortController().signal);
    expect(page.items[0]).toMatchObject({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'a' } });
  });
});
