{{/* The release's name, shortened to what Kubernetes names allow. */}}
{{- define "nethealth.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nethealth.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "nethealth.labels" -}}
{{ include "nethealth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "nethealth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "nethealth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* By digest when image.digest is set: a tag can be moved to other content, a digest not. */}}
{{- define "nethealth.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The operator's identity as the API server sees it (the admission policies' subject). */}}
{{- define "nethealth.operatorUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "nethealth.serviceAccountName" .) -}}
{{- end -}}

{{- define "nethealth.probeImage" -}}
{{- default (include "nethealth.image" .) .Values.operator.probeImage -}}
{{- end -}}

{{/* Every image a probe Job may run: the probe image and the listed ones (as in the operator). */}}
{{- define "nethealth.allowedImages" -}}
{{- toJson (prepend .Values.operator.allowedProbeImages (include "nethealth.probeImage" .)) -}}
{{- end -}}

{{/*
Where the probe-pod policies apply: admissionPolicies.namespaceSelector if given, else the
namespaces the operator serves (operator.watchNamespaces), else every namespace.
*/}}
{{- define "nethealth.policyNamespaceSelector" -}}
{{- $namespaces := include "nethealth.watchNamespaces" . | fromJsonArray -}}
{{- if .Values.admissionPolicies.namespaceSelector -}}
{{- toYaml .Values.admissionPolicies.namespaceSelector -}}
{{- else if $namespaces -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: In
    values: {{ toJson $namespaces }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
The namespaces the operator serves (JSON): operator.watchNamespaces, else rbac.namespaces;
with Roles (rbac.namespaces) it can serve no namespace outside them.
*/}}
{{- define "nethealth.watchNamespaces" -}}
{{- $watch := .Values.operator.watchNamespaces -}}
{{- $roles := .Values.rbac.namespaces -}}
{{- if and $roles $watch -}}
{{- range $watch -}}
{{- if not (has . $roles) -}}
{{- fail (printf "operator.watchNamespaces: %s is not in rbac.namespaces (the operator has no Role there)" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (default $roles $watch) -}}
{{- end -}}
