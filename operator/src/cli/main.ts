// The `ait` command line (operator/src/ait.ts is the entry): `ait render` and `ait plan`
// (cli/plan.ts). Pure except for reading files and writing stdout/stderr, so tests call runAit()
// in-process.
import { parseArgs } from 'node:util';
import { type FlagError, parseLabels } from '../process/flags.ts';
import { type Io, processIo } from './io.ts';
import { PLAN_USAGE, runPlan } from './plan.ts';
import { DEFAULT_OPERATOR_POD_LABELS, renderFiles } from './render.ts';
import { toYamlDocuments } from './yaml.ts';

export type { Io };
export { processIo };

const RENDER_USAGE = `usage: ait render -f <file> [-f <file> …] [flags]

Prints the objects the operator would apply for the AITransportClusters and ChannelPolicies
in the files ('-' reads stdin), as YAML documents in apply order. Exit 1 on an invalid spec
(every field error is printed), 2 on a usage error.

flags:
  -f, --filename <file>            input (repeatable)
  -n, --namespace <ns>             namespace of objects that name none (default "default")
      --operator-namespace <ns>    namespace the operator runs in (default "aitransport-system")
      --operator-pod-labels <k=v,…>  the operator's pod labels (default "app.kubernetes.io/name=aitransport-operator")
      --monitoring-crds=<bool>     render as if the Prometheus Operator CRDs exist (default true)
`;

export const USAGE = `${RENDER_USAGE}\n${PLAN_USAGE}`;

/** Runs `ait <args>`; returns the exit code. */
export function runAit(args: readonly string[], io: Io = processIo): number {
  const [command, ...rest] = args;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'plan') return runPlan(rest, io);
  if (command !== 'render') {
    io.stderr(`ait: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  let values: {
    filename?: string[];
    namespace?: string;
    'operator-namespace'?: string;
    'operator-pod-labels'?: string;
    'monitoring-crds'?: string;
  };
  try {
    values = parseArgs({
      args: [...rest],
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        namespace: { type: 'string', short: 'n' },
        'operator-namespace': { type: 'string' },
        'operator-pod-labels': { type: 'string' },
        'monitoring-crds': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.stderr(`ait render: ${(err as Error).message}\n${RENDER_USAGE}`);
    return 2;
  }
  if (!values.filename?.length) {
    io.stderr(`ait render: give at least one -f <file>\n${RENDER_USAGE}`);
    return 2;
  }
  const crds = values['monitoring-crds'] ?? 'true';
  if (crds !== 'true' && crds !== 'false') {
    io.stderr(`ait render: --monitoring-crds must be true or false, got "${crds}"\n`);
    return 2;
  }
  let labels: Record<string, string> = { ...DEFAULT_OPERATOR_POD_LABELS };
  try {
    if (values['operator-pod-labels'] !== undefined) labels = parseLabels(values['operator-pod-labels']);
  } catch (err) {
    io.stderr(`ait render: --operator-pod-labels: ${(err as FlagError).message}\n`);
    return 2;
  }
  const files: Array<{ name: string; text: string }> = [];
  for (const name of values.filename) {
    try {
      files.push({ name: name === '-' ? '<stdin>' : name, text: io.readFile(name) });
    } catch (err) {
      io.stderr(`ait render: cannot read ${name}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return 2;
    }
  }
  const out = renderFiles({
    files,
    namespace: values.namespace ?? 'default',
    operatorNamespace: values['operator-namespace'] ?? 'aitransport-system',
    operatorPodLabels: labels,
    monitoringCrds: crds === 'true',
  });
  if (!out.ok) {
    io.stderr(`ait render: invalid input:\n${out.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 1;
  }
  for (const w of out.warnings) io.stderr(`ait render: warning: ${w}\n`);
  io.stdout(toYamlDocuments(out.objects));
  return 0;
}
