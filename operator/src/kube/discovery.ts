// Which optional APIs the cluster serves: the Prometheus Operator's ServiceMonitor and
// PrometheusRule (OPERATOR.md 6.2: rendered only when their CRDs exist, checked each resync).
// Discovery documents need no RBAC beyond what every authenticated client has.
import type { ObservedFacts } from '../render/facts.ts';
import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import { groupVersionPath, RESOURCE } from './resources.ts';

export type MonitoringFacts = ObservedFacts['monitoring'];

interface ApiResourceList {
  resources?: Array<{ name: string }>;
}

export async function discoverMonitoring(client: Pick<KubeClient, 'getRaw'>): Promise<MonitoringFacts> {
  try {
    const list = await client.getRaw<ApiResourceList>(groupVersionPath(RESOURCE.serviceMonitor), { attempts: 2 });
    const names = new Set((list.resources ?? []).map((r) => r.name));
    return {
      serviceMonitors: names.has(RESOURCE.serviceMonitor.plural),
      prometheusRules: names.has(RESOURCE.prometheusRule.plural),
    };
  } catch (err) {
    if (isNotFound(err)) return { serviceMonitors: false, prometheusRules: false };
    throw err;
  }
}
