{{/*
Names and labels shared by every template. Everything here is a pure function of the values
and the release: no lookup, no randomness, no timestamps (STANDARDS O5).
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "aitransport-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix: fullnameOverride, the release name when it holds the chart name, else <release>-<chart>. */}}
{{- define "aitransport-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <chart>-<version> for the helm.sh/chart label. */}}
{{- define "aitransport-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator pods (never change them: Deployment selectors are immutable). */}}
{{- define "aitransport-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aitransport-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels of every object of the chart. */}}
{{- define "aitransport-operator.labels" -}}
helm.sh/chart: {{ include "aitransport-operator.chart" . }}
{{ include "aitransport-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: aitransport
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels the CRDs get besides their generated app.kubernetes.io/name and part-of. */}}
{{- define "aitransport-operator.crdLabels" -}}
helm.sh/chart: {{ include "aitransport-operator.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ServiceAccount name. */}}
{{- define "aitransport-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aitransport-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The metrics Service name; Prometheus' job label of the operator's series. */}}
{{- define "aitransport-operator.metricsServiceName" -}}
{{- printf "%s-metrics" (include "aitransport-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image reference: repository:tag, or repository:tag@digest. A floating `latest` is refused. */}}
{{- define "aitransport-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if eq $tag "latest" }}
{{- fail "image.tag must be a pinned version, not latest" }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The operator pod's selector labels as k=v,k=v (OPERATOR_POD_LABELS: the data-plane NetworkPolicies let these pods reach port 9601). */}}
{{- define "aitransport-operator.podLabelList" -}}
{{- $pairs := list }}
{{- range $k, $v := (include "aitransport-operator.selectorLabels" . | fromYaml) }}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/*
The RBAC rules on namespaced kinds (STANDARDS I5: only what the operator uses; docs/install.md
explains each). Bound cluster-wide by a ClusterRole, or per watched namespace by Roles.
*/}}
{{- define "aitransport-operator.namespacedRules" -}}
- apiGroups: ["aitransport.io"]
  resources: ["aitransportclusters", "channelpolicies"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["aitransport.io"]
  resources: ["aitransportclusters/status", "channelpolicies/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["configmaps", "services", "serviceaccounts", "secrets", "pods"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors", "prometheusrules"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
{{- end }}
