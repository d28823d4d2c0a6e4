// `npm run generate`: writes every generated artefact (docs reference, CRDs, their docs, the
// generated parts of the Helm chart and its Grafana dashboards). `--check` fails when a
// committed file is stale. Order matters: the chart's CRD templates are rendered from the crds/ files written before them.
import { readFileSync, writeFileSync } from 'node:fs';
import { chartFiles } from './generate/chart.ts';
import { renderConfigReference } from './generate/config-reference.ts';
import { renderChannelPolicyCrd, renderClusterCrd, renderCrdsDoc, renderLabelsDoc } from './generate/crds.ts';
import { DASHBOARD_FILES } from './generate/dashboards.ts';

export const GENERATED: ReadonlyArray<readonly [string, () => string]> = [
  ['docs/reference/configuration.md', renderConfigReference],
  ['crds/aitransport.io_aitransportclusters.yaml', renderClusterCrd],
  ['crds/aitransport.io_channelpolicies.yaml', renderChannelPolicyCrd],
  ['docs/crds.md', renderCrdsDoc],
  ['docs/labels-annotations.md', renderLabelsDoc],
  ...chartFiles(),
  ...DASHBOARD_FILES,
];

const check = process.argv.includes('--check');
let stale = 0;
for (const [path, render] of GENERATED) {
  const next = render();
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {}
  if (current === next) continue;
  if (check) {
    console.error(`stale: ${path} (run npm run generate)`);
    stale++;
  } else {
    writeFileSync(path, next);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale ? 1 : 0);
