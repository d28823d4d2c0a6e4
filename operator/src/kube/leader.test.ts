import { describe, expect, it } from 'vitest';
import { KubeApiError } from './errors.ts';
import { FakeClock, settle } from './fake-clock.ts';
import { LeaderElector, type LeaseClient, type LeaseRecord } from './leader.ts';

/** One Lease held in memory, with resourceVersion preconditions like the API server. */
class FakeLeaseStore {
  record: LeaseRecord | undefined;
  rv = 0;
  down = false;

  client(): LeaseClient {
    const check = () => {
      if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    return {
      get: async () => {
        check();
        return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : undefined;
      },
      create: async (r) => {
        check();
        if (this.record) throw new KubeApiError('POST', '/lease', 409, { reason: 'AlreadyExists' });
        this.record = { ...r };
        return String(++this.rv);
      },
      update: async (r, rv) => {
        check();
        if (rv !== String(this.rv)) throw new KubeApiError('PUT', '/lease', 409, { reason: 'Conflict' });
        this.record = { ...r };
        return String(++this.rv);
      },
    };
  }
}

function elector(store: FakeLeaseStore, clock: FakeClock, identity: string) {
  return new LeaderElector({ identity, client: store.client(), clock, random: () => 0 });
}

describe('LeaderElector', () => {
  it('creates the lease when there is none and renews it every retry period', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const stop = new AbortController();
    expect(await a.acquire(stop.signal)).toBe(true);
    expect(store.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const held = a.hold(stop.signal);
    const firstRenew = store.record?.renewTime;
    await clock.advance(2000);
    expect(store.record?.renewTime).not.toBe(firstRenew);
    expect(store.record?.acquireTime).toBe(firstRenew);
    stop.abort();
    expect(await held).toBe('stopped');
  });

  it('waits while another replica holds a live lease, takes it over once it expires', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const b = elector(store, clock, 'b');
    await a.acquire(new AbortController().signal);
    const stopB = new AbortController();
    let bLeads = false;
    void b.acquire(stopB.signal).then((v) => {
      bLeads = v;
    });
    // a never renews (crashed): b must wait a full lease duration after it first saw the record
    await clock.advance(14_000);
    expect(bLeads).toBe(false);
    await clock.advance(4_000);
    expect(bLeads).toBe(true);
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    stopB.abort();
  });

  it('judges expiry by local observation time, not the holder clock (skew)', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    // a holder whose clock is an hour behind: its renewTime looks long expired
    store.record = {
      holderIdentity: 'skewed',
      leaseDurationSeconds: 15,
      renewTime: new Date(clock.now() - 3_600_000).toISOString(),
    };
    const b = elector(store, clock, 'b');
    expect(await b.tryAcquireOrRenew(1000)).toBe(false);
    // the holder keeps renewing (the record changes), so it never expires for b
    for (let i = 0; i < 10; i++) {
      await clock.advance(5000);
      store.record = { ...store.record, renewTime: new Date(clock.now() - 3_600_000 + i).toISOString() };
      store.rv++;
      expect(await b.tryAcquireOrRenew(1000)).toBe(false);
    }
  });

  it('reports the lease lost when renewals fail for longer than the renew deadline', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const stop = new AbortController();
    await a.acquire(stop.signal);
    let result: string | undefined;
    void a.hold(stop.signal).then((r) => {
      result = r;
    });
    store.down = true;
    await clock.advance(8_000);
    expect(result).toBeUndefined();
    expect(a.isLeader()).toBe(true);
    await clock.advance(4_000);
    expect(result).toBe('lost');
    expect(a.isLeader()).toBe(false);
  });

  it('stops leading at once when another replica took the lease', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    await a.acquire(new AbortController().signal);
    let result: string | undefined;
    void a.hold(new AbortController().signal).then((r) => {
      result = r;
    });
    store.record = { ...store.record, holderIdentity: 'intruder' };
    store.rv++;
    await clock.advance(2_000);
    await settle();
    expect(result).toBe('lost');
  });

  it('release clears the holder so a follower takes over without waiting for expiry', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const b = elector(store, clock, 'b');
    await a.acquire(new AbortController().signal);
    expect(await b.tryAcquireOrRenew(1000)).toBe(false);
    expect(await a.release()).toBe(true);
    expect(store.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(await b.tryAcquireOrRenew(1000)).toBe(true);
    expect(store.record?.holderIdentity).toBe('b');
    // a no longer holds it: a second release writes nothing
    expect(await a.release()).toBe(false);
  });

  it('loses a write race (409 Conflict) without claiming leadership', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    store.record = { holderIdentity: '', leaseDurationSeconds: 15 };
    const client = store.client();
    const racing: LeaseClient = {
      ...client,
      update: async (r, rv, t) => {
        store.rv++; // someone else wrote in between
        return client.update(r, rv, t);
      },
    };
    const b = new LeaderElector({ identity: 'b', client: racing, clock });
    expect(await b.tryAcquireOrRenew(1000)).toBe(false);
    expect(b.isLeader()).toBe(false);
  });
});
