// ServiceMonitor (monitoring.coreos.com/v1) scraping `<name>-metrics`. Rendered only when the
// Prometheus Operator CRDs exist (ObservedFacts) and metrics are on. In another namespace it
// cannot carry an ownerReference (the garbage collector would delete it), so it is labelled with
// the owning cluster instead and the controller deletes it itself.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { LABEL } from '../api/labels.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import type { ObservedFacts } from './facts.ts';
import { applyMeta, commonLabels, selectorLabels, withInputHash, withLabels, withName, withOwner } from './meta.ts';
import { PORT_NAME, serviceMonitorName } from './names.ts';

export interface ServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'ServiceMonitor';
  metadata?: V1ObjectMeta;
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchNames: string[] };
    endpoints: Array<{ port: string; path: string; scheme: 'http'; interval: string; scrapeTimeout: string }>;
  };
}

export function renderServiceMonitor(
  c: Readonly<AITransportCluster>,
  facts: ObservedFacts,
): ServiceMonitor | undefined {
  const sm = c.spec.monitoring.serviceMonitor;
  if (!sm.enabled || !facts.monitoring.serviceMonitors || !c.spec.config.metrics.enabled) return undefined;
  const ns = c.metadata.namespace as string;
  const target = sm.namespace || ns;
  const elsewhere = target !== ns;
  const monitor: ServiceMonitor = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    spec: {
      selector: { matchLabels: selectorLabels(c, 'metrics') },
      ...(elsewhere ? { namespaceSelector: { matchNames: [ns] } } : {}),
      endpoints: [
        {
          port: PORT_NAME.metrics,
          path: '/metrics',
          scheme: 'http',
          interval: sm.interval,
          scrapeTimeout: sm.scrapeTimeout,
        },
      ],
    },
  };
  return applyMeta(
    monitor,
    withName(serviceMonitorName(c, elsewhere), target),
    withLabels({
      ...sm.labels,
      ...commonLabels(c, 'monitoring'),
      ...(elsewhere ? { [LABEL.cluster]: c.metadata.name, [LABEL.clusterNamespace]: ns } : {}),
    }),
    ...(elsewhere ? [] : [withOwner(c)]),
    withInputHash(),
  );
}
