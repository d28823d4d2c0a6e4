// Test configuration: a ResolvedConfig with one demo app, loopback listeners on port 0, and
// any overrides deep-merged on top (arrays, e.g. `apps`, replace the default).
import { type ResolvedConfig, resolveConfig } from '../../dataplane/src/config/load.ts';

/** The demo app every helper uses unless told otherwise. */
export const TEST_APP = Object.freeze({ id: 'app-id', key: 'app-key', secret: 'app-secret' });

export type Overrides = { [key: string]: unknown };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * Builds a config for tests. `app` overrides merge into the demo app (e.g.
 * `{ app: { enableClientMessages: true } }`); `apps` replaces the app list entirely.
 */
export function testConfig(overrides: Overrides & { app?: Overrides } = {}): ResolvedConfig {
  const { app, ...rest } = overrides;
  const base: Record<string, unknown> = {
    nodeId: 'test-node',
    server: { host: '127.0.0.1', port: 0 },
    ops: { host: '127.0.0.1', port: 0 },
    logging: { level: 'silent' },
    apps: [deepMerge({ ...TEST_APP }, app ?? {})],
  };
  return resolveConfig(deepMerge(base, rest), { env: {} });
}
