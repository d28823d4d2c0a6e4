// The Argo CD health check of the chart (charts/aitransport-operator/files/argocd/health.lua),
// run by a real Lua interpreter (Debian's lua5.4, installed by scripts/ensure-system-deps.sh;
// Argo CD runs the same script in gopher-lua, a Lua 5.1, so the script keeps to 5.1 syntax) the
// way Argo CD calls it: the live object as the global `obj`, the returned table read back.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/artifact-tools.ts';

const SCRIPT = path.join(repoRoot, 'charts/aitransport-operator/files/argocd/health.lua');
const LUA = process.env.AIT_LUA ?? 'lua5.4';

/** A Lua table literal of a JSON-like value. */
function lua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(lua).join(', ')}}`;
  return `{${Object.entries(v as object)
    .map(([k, x]) => `[${JSON.stringify(k)}] = ${lua(x)}`)
    .join(', ')}}`;
}

function health(obj: object): Promise<{ status: string; message: string }> {
  const driver = `obj = ${lua(obj)}\nlocal hs = assert(loadfile(${JSON.stringify(SCRIPT)}))()\nio.write(hs.status, "\\t", hs.message or "")`;
  return new Promise((resolve, reject) => {
    execFile(LUA, ['-e', driver], { timeout: 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new Error(
            missing ? `${LUA} not found: run scripts/ensure-system-deps.sh (or set AIT_LUA)` : `${LUA}: ${stderr}`,
            { cause: err },
          ),
        );
        return;
      }
      const [status = '', message = ''] = stdout.split('\t');
      resolve({ status, message });
    });
  });
}

const cond = (type: string, status: string, extra: object = {}) => ({
  type,
  status,
  reason: `${type}Reason`,
  ...extra,
});
const cluster = (generation: number, status?: object) => ({
  apiVersion: 'aitransport.io/v1alpha1',
  kind: 'AITransportCluster',
  metadata: { name: 'chat', namespace: 'apps', generation },
  ...(status ? { status } : {}),
});

describe('Argo CD health check', () => {
  it.each([
    ['no status yet', cluster(1), 'Progressing', 'Waiting for the operator to observe generation 1'],
    [
      'status of an older generation',
      cluster(3, { observedGeneration: 2, conditions: [cond('Ready', 'True')] }),
      'Progressing',
      'Waiting for the operator to observe generation 3',
    ],
    [
      'Ready on the current generation',
      cluster(3, { observedGeneration: 3, conditions: [cond('Ready', 'True', { message: '3/3 pods ready' })] }),
      'Healthy',
      '3/3 pods ready',
    ],
    [
      'Stalled wins over Ready and Upgrading',
      cluster(2, {
        observedGeneration: 2,
        conditions: [
          cond('Ready', 'True'),
          cond('Upgrading', 'True'),
          cond('Stalled', 'True', { message: 'health gate failed on chat-1' }),
        ],
      }),
      'Degraded',
      'health gate failed on chat-1',
    ],
    [
      'a rolling upgrade',
      cluster(2, { observedGeneration: 2, conditions: [cond('Ready', 'True'), cond('Upgrading', 'True')] }),
      'Progressing',
      'Upgrading: UpgradingReason',
    ],
    [
      'reconciling',
      cluster(1, { observedGeneration: 1, conditions: [cond('Reconciling', 'True', { message: 'creating pods' })] }),
      'Progressing',
      'creating pods',
    ],
    [
      'not ready with nothing in progress',
      cluster(1, {
        observedGeneration: 1,
        conditions: [cond('Ready', 'False', { message: '0/3 pods ready' }), cond('Reconciling', 'False')],
      }),
      'Degraded',
      '0/3 pods ready',
    ],
    [
      'paused',
      cluster(1, { observedGeneration: 1, conditions: [cond('ReconciliationPaused', 'True'), cond('Ready', 'True')] }),
      'Suspended',
      'ReconciliationPaused: ReconciliationPausedReason',
    ],
    [
      'Ready unknown',
      cluster(1, { observedGeneration: 1, conditions: [cond('Ready', 'Unknown')] }),
      'Progressing',
      'Waiting for the Ready condition',
    ],
    [
      'a ChannelPolicy resetting channels',
      {
        kind: 'ChannelPolicy',
        metadata: { name: 'ai', generation: 4 },
        status: { observedGeneration: 4, conditions: [cond('Ready', 'True'), cond('Resetting', 'True')] },
      },
      'Progressing',
      'Resetting: ResettingReason',
    ],
    [
      'a ChannelPolicy whose reset stalled',
      {
        kind: 'ChannelPolicy',
        metadata: { name: 'ai', generation: 4 },
        status: { observedGeneration: 4, conditions: [cond('Stalled', 'True', { message: 'reset timed out' })] },
      },
      'Degraded',
      'reset timed out',
    ],
  ])('%s → %s', async (_what, obj, status, message) => {
    expect(await health(obj)).toEqual({ status, message });
  });
});
