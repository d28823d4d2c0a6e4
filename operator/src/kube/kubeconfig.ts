// Where the operator's credentials come from: in a pod, the service account (token re-read as
// it rotates); elsewhere the file(s) in $KUBECONFIG, else ~/.kube/config.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SA_TOKEN)) {
    kc.loadFromCluster();
    return { kc, source: 'in-cluster service account' };
  }
  if (env.KUBECONFIG) {
    kc.loadFromDefault();
    return { kc, source: `KUBECONFIG=${env.KUBECONFIG}` };
  }
  kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes credentials: not in a pod, $KUBECONFIG is unset and ~/.kube/config is missing');
  }
  return { kc, source: '~/.kube/config' };
}
