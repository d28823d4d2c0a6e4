// Loading the node config: file (YAML or JSON) → env overrides → zod parse → secrets
// resolved → deep-frozen. Every problem is reported with its path, and start-up fails
// fast (STANDARDS.md F6, O3).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { redisConfigFromEnv } from './redis-schema.ts';
import { type AppConfig, type NodeConfig, NodeConfigSchema } from './schema.ts';

export class ConfigError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], source: string) {
    super(`invalid configuration (${source}):\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** An app with its secret resolved from wherever the config said it lives. */
export interface ResolvedApp extends Omit<AppConfig, 'secret' | 'secretEnv' | 'secretFile'> {
  readonly secret: string;
}

export interface ResolvedConfig extends Omit<NodeConfig, 'apps' | 'nodeId' | 'ops'> {
  readonly nodeId: string;
  readonly ops: NodeConfig['ops'] & { readonly resolvedAdminToken: string | undefined };
  readonly apps: readonly ResolvedApp[];
}

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/** Environment variables that override single options, for container use. */
const ENV_OVERRIDES: ReadonlyArray<readonly [string, readonly string[], 'string' | 'int']> = [
  ['AIT_NODE_ID', ['nodeId'], 'string'],
  ['AIT_SERVER_HOST', ['server', 'host'], 'string'],
  ['AIT_SERVER_PORT', ['server', 'port'], 'int'],
  ['AIT_OPS_HOST', ['ops', 'host'], 'string'],
  ['AIT_OPS_PORT', ['ops', 'port'], 'int'],
  ['AIT_LOG_LEVEL', ['logging', 'level'], 'string'],
  ['AIT_LOG_FORMAT', ['logging', 'format'], 'string'],
  ['AIT_METRICS_PREFIX', ['metrics', 'prefix'], 'string'],
];

export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  // AIT_REDIS_* (what the operator renders for a pod) override the file's redis block key by key.
  const redis = redisConfigFromEnv(env);
  if (redis !== undefined) {
    const base = typeof out.redis === 'object' && out.redis !== null ? (out.redis as Record<string, unknown>) : {};
    out.redis = { ...base, ...redis };
  }
  for (const [name, path, kind] of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let cursor: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = cursor[key];
      if (typeof next !== 'object' || next === null) cursor[key] = {};
      cursor = cursor[key] as Record<string, unknown>;
    }
    // Leave a non-integer as a string so zod reports it against the option's path.
    cursor[path[path.length - 1] as string] = kind === 'int' && /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

function readSecret(
  app: AppConfig,
  env: NodeJS.ProcessEnv,
  readFile: (p: string) => string,
  index: number,
  issues: string[],
): string {
  if (app.secret !== undefined) return app.secret;
  if (app.secretEnv !== undefined) {
    const v = env[app.secretEnv];
    if (v === undefined || v === '')
      issues.push(`apps.${index}.secretEnv: environment variable ${app.secretEnv} is not set`);
    return v ?? '';
  }
  try {
    const v = readFile(app.secretFile as string).trim();
    if (v === '') issues.push(`apps.${index}.secretFile: ${app.secretFile} is empty`);
    return v;
  } catch (err) {
    issues.push(
      `apps.${index}.secretFile: cannot read ${app.secretFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return '';
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  readFile?: (path: string) => string;
  source?: string;
}

/** Validates an already-parsed config object (from a file, a test, or the operator's render). */
export function resolveConfig(raw: unknown, opts: LoadOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const source = opts.source ?? 'config';
  const withEnv =
    raw && typeof raw === 'object' && !Array.isArray(raw)
      ? applyEnvOverrides(raw as Record<string, unknown>, env)
      : raw;
  const parsed = NodeConfigSchema.safeParse(withEnv);
  if (!parsed.success) throw new ConfigError(formatZodIssues(parsed.error), source);
  const cfg = parsed.data;
  const issues: string[] = [];
  const apps: ResolvedApp[] = cfg.apps.map((app, i) => {
    const { secret: _s, secretEnv: _e, secretFile: _f, ...rest } = app;
    return { ...rest, secret: readSecret(app, env, readFile, i, issues) };
  });
  const tokenSources = (['adminToken', 'adminTokenEnv', 'adminTokenFile'] as const).filter(
    (k) => cfg.ops[k] !== undefined,
  );
  if (tokenSources.length > 1) issues.push(`ops: ${tokenSources.join(' and ')} are exclusive`);
  let resolvedAdminToken: string | undefined = cfg.ops.adminToken;
  if (cfg.ops.adminTokenEnv !== undefined) {
    resolvedAdminToken = env[cfg.ops.adminTokenEnv];
    if (!resolvedAdminToken) issues.push(`ops.adminTokenEnv: environment variable ${cfg.ops.adminTokenEnv} is not set`);
  }
  if (cfg.ops.adminTokenFile !== undefined) {
    try {
      resolvedAdminToken = readFile(cfg.ops.adminTokenFile).trim();
    } catch {
      issues.push(`ops.adminTokenFile: cannot read ${cfg.ops.adminTokenFile}`);
    }
  }
  if (resolvedAdminToken !== undefined && resolvedAdminToken.length < 16) {
    issues.push('ops: the admin token must be at least 16 characters');
  }
  if (issues.length) throw new ConfigError(issues, source);
  const nodeId = cfg.nodeId ?? sanitizeNodeId(env.HOSTNAME || hostname());
  return deepFreeze({ ...cfg, nodeId, ops: { ...cfg.ops, resolvedAdminToken }, apps });
}

function sanitizeNodeId(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
  return cleaned || 'node';
}

/** Parses YAML or JSON text (JSON is YAML) into a plain object. */
export function parseConfigText(text: string, source: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (err) {
    throw new ConfigError([`cannot parse: ${(err as Error).message.split('\n')[0]}`], source);
  }
}

export function loadConfigFile(path: string, opts: LoadOptions = {}): ResolvedConfig {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError([`cannot read config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`], path);
  }
  return resolveConfig(parseConfigText(text, path), { ...opts, source: path });
}

/** Where the config comes from: `--config <path>`, else $AIT_CONFIG. */
export function configPathFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = argv.indexOf('--config');
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--config='));
  if (eq) return eq.slice('--config='.length);
  return env.AIT_CONFIG || undefined;
}
