{{/* Names, labels and the small decisions shared by the templates. */}}

{{- define "podrunner.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "podrunner.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "podrunner.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podrunner.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "podrunner.labels" -}}
{{ include "podrunner.selectorLabels" . }}
app: {{ include "podrunner.fullname" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Where job pods run; the Role lives there too. */}}
{{- define "podrunner.jobNamespace" -}}
{{- coalesce .Values.runners.jobNamespace .Values.namespace .Release.Namespace -}}
{{- end -}}

{{- define "podrunner.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{/* The manager image. An image that names gitlab-runner (a migrated values file) cannot run
podrunner, so podrunner's own image takes its place; NOTES.txt reports it. */}}
{{- define "podrunner.imageIsGitlabRunner" -}}
{{- $image := .Values.image -}}
{{- $ref := "" -}}
{{- if kindIs "string" $image -}}{{- $ref = $image -}}{{- else if kindIs "map" $image -}}{{- $ref = printf "%v" (default "" $image.image) -}}{{- end -}}
{{- if contains "gitlab-runner" $ref -}}true{{- end -}}
{{- end -}}

{{- define "podrunner.image" -}}
{{- $default := printf "ghcr.io/podrunner/podrunner:%s" .Chart.AppVersion -}}
{{- $image := .Values.image -}}
{{- if include "podrunner.imageIsGitlabRunner" . -}}
{{- $default -}}
{{- else if kindIs "string" $image -}}
{{- $image -}}
{{- else if kindIs "map" $image -}}
{{- $repo := default "podrunner/podrunner" $image.image -}}
{{- $tag := default .Chart.AppVersion $image.tag -}}
{{- if $image.registry -}}
{{- printf "%s/%s:%s" $image.registry $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- else -}}
{{- $default -}}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount is created when serviceAccount.create says so, or, left unset, when
rbac.create is on (as in gitlab-runner). */}}
{{- define "podrunner.createServiceAccount" -}}
{{- $sa := default dict .Values.serviceAccount -}}
{{- if hasKey $sa "create" -}}
{{- if $sa.create -}}true{{- end -}}
{{- else if .Values.rbac.create -}}true{{- end -}}
{{- end -}}

{{- define "podrunner.serviceAccountName" -}}
{{- $sa := default dict .Values.serviceAccount -}}
{{- if include "podrunner.createServiceAccount" . -}}
{{- coalesce $sa.name .Values.rbac.serviceAccountName .Values.rbac.generatedServiceAccountName (include "podrunner.fullname" .) -}}
{{- else -}}
{{- coalesce $sa.name .Values.rbac.serviceAccountName "default" -}}
{{- end -}}
{{- end -}}

{{/* The Secret with runner-token; an existing one when runners.secret is set. */}}
{{- define "podrunner.secretName" -}}
{{- default (include "podrunner.fullname" .) .Values.runners.secret -}}
{{- end -}}

{{/* The runners.config template rendered through tpl, as gitlab-runner's chart does. */}}
{{- define "podrunner.runnersConfig" -}}
{{- tpl (default "" .Values.runners.config) . -}}
{{- end -}}

{{/* The rules podrunner needs in the job namespace: its pods and their logs, the per-job Secret,
events for failure reports, and Leases through which replicas share the work. No pods/exec or
pods/attach: a job pod runs on its own. */}}
{{- define "podrunner.requiredRules" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create", "get", "list", "watch", "delete"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "get", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["list", "watch"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update", "list", "watch", "delete"]
{{- end -}}

{{- define "podrunner.rules" -}}
{{- if .Values.rbac.rules -}}
{{- range .Values.rbac.rules }}
- apiGroups: {{ toJson (default (list "") .apiGroups) }}
  {{- if .resources }}
  resources: {{ toJson .resources }}
  {{- end }}
  {{- if .resourceNames }}
  resourceNames: {{ toJson .resourceNames }}
  {{- end }}
  {{- if .nonResourceURLs }}
  nonResourceURLs: {{ toJson .nonResourceURLs }}
  {{- end }}
  verbs: {{ toJson .verbs }}
{{- end }}
{{- if .Values.rbac.appendRequiredRules }}
{{ include "podrunner.requiredRules" . }}
{{- end }}
{{- else -}}
{{ include "podrunner.requiredRules" . }}
{{- end -}}
{{- end -}}
