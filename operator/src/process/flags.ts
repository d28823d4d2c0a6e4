// The operator's flags. Each also reads an environment variable (the flag wins); the Helm chart
// sets exactly these, so renaming one is a breaking change of the chart contract.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { LOG_LEVELS } from './logger.ts';

const boolText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65_535);
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const FLAGS = {
  'watch-namespaces': {
    env: 'AIT_OPERATOR_WATCH_NAMESPACES',
    default: '',
    doc: 'Comma-separated namespaces to watch; empty = all namespaces.',
  },
  'metrics-port': { env: 'AIT_OPERATOR_METRICS_PORT', default: '8080', doc: 'Port of /metrics (0 = any free port).' },
  'health-port': {
    env: 'AIT_OPERATOR_HEALTH_PORT',
    default: '8081',
    doc: 'Port of /healthz (live) and /readyz (caches synced); 0 = any free port.',
  },
  'bind-address': {
    env: 'AIT_OPERATOR_BIND_ADDRESS',
    default: '0.0.0.0',
    doc: 'Address the metrics and health listeners bind to.',
  },
  'leader-elect': {
    env: 'AIT_OPERATOR_LEADER_ELECT',
    default: 'true',
    doc: 'Run the workers only while holding the Lease (run 2 replicas for availability).',
  },
  'leader-election-namespace': {
    env: 'AIT_OPERATOR_LEADER_ELECTION_NAMESPACE',
    default: '',
    doc: 'Namespace of the Lease; default $POD_NAMESPACE.',
  },
  'leader-election-id': {
    env: 'AIT_OPERATOR_LEADER_ELECTION_ID',
    default: 'aitransport-operator',
    doc: 'Name of the Lease.',
  },
  concurrency: { env: 'AIT_OPERATOR_CONCURRENCY', default: '2', doc: 'Reconcile workers (one object each at a time).' },
  'log-level': { env: 'AIT_OPERATOR_LOG_LEVEL', default: 'info', doc: `Log level: ${LOG_LEVELS.join(', ')}.` },
  'resync-seconds': {
    env: 'AIT_OPERATOR_RESYNC_SECONDS',
    default: '300',
    doc: 'Every object is reconciled at least this often; monitoring CRDs are rediscovered as often.',
  },
} as const;

export type FlagName = keyof typeof FLAGS;

const ConfigSchema = z.object({
  watchNamespaces: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(dnsLabel, 'not a namespace name'))),
  metricsPort: port,
  healthPort: port,
  bindAddress: z.string().min(1),
  leaderElect: boolText,
  leaderElectionNamespace: z.string(),
  leaderElectionId: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'not a valid Lease name'),
  concurrency: z.coerce.number().int().min(1).max(64),
  logLevel: z.enum(LOG_LEVELS),
  resyncSeconds: z.coerce.number().int().min(1).max(86_400),
});

export type OperatorConfig = z.output<typeof ConfigSchema> & {
  /** Namespace and pod labels of the operator itself (the rendered NetworkPolicy admits them). */
  podNamespace: string;
  podLabels: Record<string, string>;
  /** This replica's identity in the Lease and in Events. */
  podName: string;
};

export class FlagError extends Error {}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** `k=v,k2=v2` → a label map (OPERATOR_POD_LABELS). */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`OPERATOR_POD_LABELS: "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function usage(): string {
  const lines = Object.entries(FLAGS).map(
    ([name, f]) => `  --${name}=<value>  (env ${f.env}, default "${f.default}")\n      ${f.doc}`,
  );
  return `usage: node operator/src/main.ts [flags]\n${lines.join('\n')}\n`;
}

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])),
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  if (values.help) throw new FlagError('help');
  const raw: Record<string, string> = {};
  for (const [name, f] of Object.entries(FLAGS)) {
    const v = values[name];
    raw[camel(name)] = typeof v === 'string' ? v : (env[f.env] ?? f.default);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const flag = Object.keys(FLAGS).find((n) => camel(n) === key) ?? key;
      return `--${flag} (env ${FLAGS[flag as FlagName]?.env ?? '?'}): ${i.message} (got "${raw[key]}")`;
    });
    throw new FlagError(problems.join('\n'));
  }
  const c = parsed.data;
  const podNamespace = env.POD_NAMESPACE ?? '';
  if (!c.leaderElectionNamespace) c.leaderElectionNamespace = podNamespace;
  if (c.leaderElect && !c.leaderElectionNamespace) {
    throw new FlagError(
      '--leader-elect needs --leader-election-namespace (env AIT_OPERATOR_LEADER_ELECTION_NAMESPACE) or POD_NAMESPACE',
    );
  }
  return {
    ...c,
    podNamespace,
    podLabels: parseLabels(env.OPERATOR_POD_LABELS ?? ''),
    podName: env.POD_NAME ?? '',
  };
}
