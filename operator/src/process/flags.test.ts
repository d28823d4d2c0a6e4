import { describe, expect, it } from 'vitest';
import { FLAGS, FlagError, parseFlags, parseLabels } from './flags.ts';

const env = { POD_NAMESPACE: 'ait-system' };

describe('parseFlags', () => {
  it('has the defaults the Helm chart relies on', () => {
    expect(parseFlags([], env)).toMatchObject({
      watchNamespaces: [],
      metricsPort: 8080,
      healthPort: 8081,
      leaderElect: true,
      leaderElectionNamespace: 'ait-system',
      leaderElectionId: 'aitransport-operator',
      concurrency: 2,
      logLevel: 'info',
      resyncSeconds: 300,
      podNamespace: 'ait-system',
    });
  });

  it('reads every flag from its env var, and the flag wins over the env var', () => {
    const c = parseFlags(['--concurrency=4'], {
      ...env,
      AIT_OPERATOR_WATCH_NAMESPACES: 'a, b',
      AIT_OPERATOR_CONCURRENCY: '8',
      AIT_OPERATOR_LEADER_ELECT: 'false',
      AIT_OPERATOR_RESYNC_SECONDS: '60',
      OPERATOR_POD_LABELS: 'app=op, tier=ctl',
    });
    expect(c).toMatchObject({ watchNamespaces: ['a', 'b'], concurrency: 4, leaderElect: false, resyncSeconds: 60 });
    expect(c.podLabels).toEqual({ app: 'op', tier: 'ctl' });
    for (const [name, f] of Object.entries(FLAGS)) expect(f.env, name).toMatch(/^AIT_OPERATOR_[A-Z_]+$/);
  });

  it('rejects bad values naming the flag and its env var', () => {
    expect(() => parseFlags(['--concurrency=0'], env)).toThrow(/--concurrency \(env AIT_OPERATOR_CONCURRENCY\)/);
    expect(() => parseFlags(['--metrics-port=http'], env)).toThrow(FlagError);
    expect(() => parseFlags(['--watch-namespaces=Bad_NS'], env)).toThrow(/not a namespace name/);
    expect(() => parseFlags(['--leader-elect=maybe'], env)).toThrow(/--leader-elect/);
    expect(() => parseFlags(['--frobnicate'], env)).toThrow(FlagError);
  });

  it('needs a Lease namespace when electing a leader', () => {
    expect(() => parseFlags([], {})).toThrow(/POD_NAMESPACE/);
    expect(parseFlags(['--leader-elect=false'], {}).leaderElect).toBe(false);
    expect(parseFlags(['--leader-election-namespace=x'], {}).leaderElectionNamespace).toBe('x');
  });

  it('parseLabels rejects entries without =', () => {
    expect(() => parseLabels('a=b,c')).toThrow(/"c" is not key=value/);
    expect(parseLabels('')).toEqual({});
  });
});
