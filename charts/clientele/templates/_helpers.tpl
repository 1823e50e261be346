{{- define "clientele.name" -}}{{ .Chart.Name }}{{- end -}}
{{- define "clientele.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "clientele.labels" -}}
app.kubernetes.io/name: {{ include "clientele.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "clientele.selector" -}}
app.kubernetes.io/name: {{ include "clientele.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{- define "clientele.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "clientele.secretName" -}}{{ .Values.existingSecret | default (printf "%s-secrets" (include "clientele.fullname" .)) }}{{- end -}}
{{/* Settings every process gets. The owner database URL is NOT here: only migrate has it. */}}
{{- define "clientele.env" -}}
- name: CLIENTELE_ENV
  value: {{ .Values.config.env | quote }}
- name: CLIENTELE_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: CLIENTELE_PUBLIC_URL
  value: {{ .Values.config.publicURL | quote }}
{{- with .Values.config.blobURL }}
- name: CLIENTELE_BLOB_URL
  value: {{ . | quote }}
{{- end }}
- name: CLIENTELE_KRATOS_PUBLIC_URL
  value: {{ .Values.config.kratosPublicURL | quote }}
- name: CLIENTELE_KRATOS_ADMIN_URL
  value: {{ .Values.config.kratosAdminURL | quote }}
- name: CLIENTELE_REQUEST_TIMEOUT
  value: {{ .Values.config.requestTimeout | quote }}
- name: CLIENTELE_WORKER_CONCURRENCY
  value: {{ .Values.config.workerConcurrency | quote }}
- name: CLIENTELE_BULK_PER_TENANT
  value: {{ .Values.config.bulkPerTenant | quote }}
- name: CLIENTELE_APP_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ include "clientele.secretName" . }}, key: appDatabaseURL}}
- name: CLIENTELE_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ include "clientele.secretName" . }}, key: redisURL}}
- name: CLIENTELE_MASTER_KEY
  valueFrom: {secretKeyRef: {name: {{ include "clientele.secretName" . }}, key: masterKey}}
{{- end -}}
{{- define "clientele.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
capabilities: {drop: ["ALL"]}
seccompProfile: {type: RuntimeDefault}
{{- end -}}
