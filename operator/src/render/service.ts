// The three data-plane Services: the client Service `<name>` (WebSocket + signed REST, what
// clients and SDKs connect to), the headless `<name>-headless` governing the StatefulSet (stable
// pod DNS for the operator's admin calls) and `<name>-metrics` (port 9601, scraped by Prometheus).
import type { V1Service } from '@kubernetes/client-node';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { applyMeta, childMeta, selectorLabels, withAnnotations, withInputHash, withLabels } from './meta.ts';
import { clientServiceName, headlessServiceName, metricsServiceName, PORT, PORT_NAME } from './names.ts';

type Cluster = Readonly<AITransportCluster>;

export function renderClientService(c: Cluster): V1Service {
  const s = c.spec.service;
  const external = s.type !== 'ClusterIP';
  return applyMeta(
    {
      apiVersion: 'v1',
      kind: 'Service',
      spec: {
        type: s.type,
        selector: selectorLabels(c, 'dataplane'),
        ports: [{ name: PORT_NAME.http, port: s.port, targetPort: PORT_NAME.http, protocol: 'TCP' }],
        sessionAffinity: s.sessionAffinity,
        ...(external && s.externalTrafficPolicy ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
        ...(s.type === 'LoadBalancer' && s.loadBalancerSourceRanges
          ? { loadBalancerSourceRanges: s.loadBalancerSourceRanges }
          : {}),
      },
    },
    withLabels(s.labels ?? {}),
    ...childMeta(c, clientServiceName(c), 'dataplane'),
    withAnnotations(s.annotations),
    withInputHash(),
  );
}

export function renderHeadlessService(c: Cluster): V1Service {
  return applyMeta(
    {
      apiVersion: 'v1',
      kind: 'Service',
      spec: {
        clusterIP: 'None',
        // The operator reaches pods that are draining (not ready) through their DNS names.
        publishNotReadyAddresses: true,
        selector: selectorLabels(c, 'dataplane'),
        ports: [
          { name: PORT_NAME.http, port: PORT.http, targetPort: PORT_NAME.http, protocol: 'TCP' },
          { name: PORT_NAME.ops, port: PORT.ops, targetPort: PORT_NAME.ops, protocol: 'TCP' },
        ],
      },
    },
    ...childMeta(c, headlessServiceName(c), 'dataplane'),
    withInputHash(),
  );
}

export function renderMetricsService(c: Cluster): V1Service {
  return applyMeta(
    {
      apiVersion: 'v1',
      kind: 'Service',
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(c, 'dataplane'),
        ports: [{ name: PORT_NAME.metrics, port: PORT.ops, targetPort: PORT_NAME.ops, protocol: 'TCP' }],
      },
    },
    ...childMeta(c, metricsServiceName(c), 'metrics'),
    withInputHash(),
  );
}
