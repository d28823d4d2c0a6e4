// `ait plan --profile <file> [--json] [--nodes N]`: the capacity plan of a load profile
// (operator/src/capacity/, docs/capacity.md). Exit 0 with a plan that fits, 3 with a plan that
// does not (still printed), 1 on an invalid profile, 2 on a usage error.
import { parseArgs } from 'node:util';
import { formatPlan } from '../capacity/format.ts';
import { plan } from '../capacity/model.ts';
import { parseProfile } from '../capacity/profile.ts';
import type { Io } from './io.ts';

export const PLAN_USAGE = `usage: ait plan --profile <file> [--json] [--nodes <n>]

Prints the fleet a load profile needs (docs/capacity.md): connections, active streams, append
ingress, fanout egress before and after rollup, rollup memory, history bytes and write rate, and
the node count that keeps every per-node budget under its headroom. Profiles: test/load/profiles/.

flags:
  -p, --profile <file>   the load profile, JSON or YAML ('-' reads stdin)
      --json             print the plan as JSON
      --nodes <n>        evaluate this node count instead of computing one (overrides fleet.nodes)

exit: 0 the plan fits, 3 it does not (printed anyway), 1 invalid profile, 2 usage error
`;

export const EXIT_NOT_FEASIBLE = 3;

export function runPlan(args: readonly string[], io: Io): number {
  let values: { profile?: string; json?: boolean; nodes?: string };
  try {
    values = parseArgs({
      args: [...args],
      options: {
        profile: { type: 'string', short: 'p' },
        json: { type: 'boolean' },
        nodes: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.stderr(`ait plan: ${(err as Error).message}\n${PLAN_USAGE}`);
    return 2;
  }
  if (!values.profile) {
    io.stderr(`ait plan: give --profile <file>\n${PLAN_USAGE}`);
    return 2;
  }
  let nodes: number | undefined;
  if (values.nodes !== undefined) {
    nodes = /^[1-9]\d{0,5}$/.test(values.nodes) ? Number(values.nodes) : undefined;
    if (nodes === undefined) {
      io.stderr(`ait plan: --nodes must be a whole number from 1 to 999999, got "${values.nodes}"\n`);
      return 2;
    }
  }
  let text: string;
  try {
    text = io.readFile(values.profile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    io.stderr(`ait plan: cannot read ${values.profile}: ${code}\n`);
    return 2;
  }
  const source = values.profile === '-' ? '<stdin>' : values.profile;
  const parsed = parseProfile(text, source);
  if (!parsed.ok) {
    io.stderr(`ait plan: invalid profile:\n${parsed.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 1;
  }
  const profile =
    nodes === undefined ? parsed.profile : { ...parsed.profile, fleet: { ...parsed.profile.fleet, nodes } };
  const result = plan(profile);
  io.stdout(values.json ? `${JSON.stringify({ ...result, input: profile }, null, 2)}\n` : formatPlan(result));
  return result.feasible ? 0 : EXIT_NOT_FEASIBLE;
}
