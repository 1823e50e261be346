{{/* vim: set filetype=mustache: */}}

{{- define "clientele.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; component suffixes (-serve, -worker, -migrate) are added to it. */}}
{{- define "clientele.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "clientele.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "clientele.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: clientele
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "serve"). */}}
{{- define "clientele.selector" -}}
app.kubernetes.io/name: {{ include "clientele.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "clientele.image" -}}
{{- $ref := .Values.image.repository -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if $tag }}{{ $ref = printf "%s:%s" $ref $tag }}{{ end -}}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{- define "clientele.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "clientele.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "clientele.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "clientele.fullname" .)) -}}
{{- end -}}

{{/* The migrate Job's Secret: the existing one, or a short-lived hook Secret. */}}
{{- define "clientele.migrateSecretName" -}}
{{- .Values.existingSecret | default (printf "%s-migrate" (include "clientele.fullname" .)) -}}
{{- end -}}

{{/*
One env entry read from a Secret. Call with (list $ "ENV_NAME" "logicalKey" "secretName").
The master key is optional outside production (the app only requires it there).
*/}}
{{- define "clientele.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 3 }}
      key: {{ index $root.Values.secretKeys (index . 2) }}
      {{- if and (eq (index . 2) "masterKey") (ne $root.Values.config.env "production") }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The blob store URL: explicit, or the shared volume when persistence is on. */}}
{{- define "clientele.blobURL" -}}
{{- if .Values.config.blobURL -}}
{{- .Values.config.blobURL -}}
{{- else if .Values.persistence.enabled -}}
{{- printf "file://%s?create_dir=true" .Values.persistence.mountPath -}}
{{- end -}}
{{- end -}}

{{/*
Non-secret settings shared by every process. They are rendered inline (not in a
ConfigMap) so that a change rolls the pods, and so the pre-install migrate hook can use
them before any regular resource exists.
*/}}
{{- define "clientele.commonEnv" -}}
- name: CLIENTELE_ENV
  value: {{ .Values.config.env | quote }}
- name: CLIENTELE_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: CLIENTELE_LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
- name: CLIENTELE_DATA_DIR
  value: /tmp/clientele
{{- end -}}

{{/*
Environment of serve and worker. The owner database URL (CLIENTELE_DATABASE_URL) is
deliberately absent: only the migrate job holds it. Call with (dict "root" $ "tier" "serve").
*/}}
{{- define "clientele.appEnv" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $tier := index $v .tier -}}
{{- range concat ($v.extraEnv | default list) ($tier.extraEnv | default list) }}
{{- if eq .name "CLIENTELE_DATABASE_URL" }}
{{- fail "extraEnv must not set CLIENTELE_DATABASE_URL: the owner role belongs to the migrate job only" }}
{{- end }}
{{- end }}
{{- include "clientele.commonEnv" $root }}
- name: CLIENTELE_PUBLIC_URL
  value: {{ $v.config.publicURL | quote }}
{{- with include "clientele.blobURL" $root }}
- name: CLIENTELE_BLOB_URL
  value: {{ . | quote }}
{{- end }}
- name: CLIENTELE_KRATOS_PUBLIC_URL
  value: {{ $v.config.kratosPublicURL | quote }}
- name: CLIENTELE_KRATOS_ADMIN_URL
  value: {{ $v.config.kratosAdminURL | quote }}
- name: CLIENTELE_REQUEST_TIMEOUT
  value: {{ $v.config.requestTimeout | quote }}
- name: CLIENTELE_BODY_LIMIT
  value: {{ $v.config.bodyLimit | int64 | quote }}
{{- with $v.config.trustedProxies }}
- name: CLIENTELE_TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
- name: CLIENTELE_WORKER_CONCURRENCY
  value: {{ $v.config.workerConcurrency | int64 | quote }}
- name: CLIENTELE_BULK_PER_TENANT
  value: {{ $v.config.bulkPerTenant | int64 | quote }}
{{- with $v.config.bulkDutyPercent }}
- name: CLIENTELE_BULK_DUTY_PERCENT
  value: {{ . | int64 | quote }}
{{- end }}
- name: CLIENTELE_SWEEP_INTERVAL
  value: {{ $v.config.sweepInterval | quote }}
{{- with $v.config.exportTTL }}
- name: CLIENTELE_EXPORT_TTL
  value: {{ . | quote }}
{{- end }}
- name: CLIENTELE_DB_MAX_CONNS
  value: {{ $tier.dbMaxConns | int64 | quote }}
{{- $secret := include "clientele.secretName" $root }}
{{ include "clientele.secretEnv" (list $root "CLIENTELE_APP_DATABASE_URL" "appDatabaseURL" $secret) }}
{{ include "clientele.secretEnv" (list $root "CLIENTELE_REDIS_URL" "redisURL" $secret) }}
{{ include "clientele.secretEnv" (list $root "CLIENTELE_MASTER_KEY" "masterKey" $secret) }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with $tier.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level fields shared by serve, worker and migrate. */}}
{{- define "clientele.podCommon" -}}
serviceAccountName: {{ include "clientele.serviceAccountName" . }}
{{ include "clientele.podCommonRest" . }}
{{- end -}}

{{/* Everything of podCommon but the ServiceAccount. */}}
{{- define "clientele.podCommonRest" -}}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
enableServiceLinks: false
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Affinity of a Deployment: the tier's own, or a preferred spread across nodes. */}}
{{- define "clientele.affinity" -}}
{{- $tier := index .root.Values .component -}}
{{- if $tier.affinity }}
affinity:
  {{- toYaml $tier.affinity | nindent 2 }}
{{- else if eq $tier.podAntiAffinity "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "clientele.selector" . | nindent 14 }}
{{- else if eq $tier.podAntiAffinity "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "clientele.selector" . | nindent 12 }}
{{- end }}
{{- with $tier.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range . }}
  - {{- toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" (include "clientele.selector" $ | fromYaml)))) | nindent 4 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes of serve and worker: a scratch /tmp (the root filesystem is read-only) and the blob volume. */}}
{{- define "clientele.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.persistence.enabled }}
- name: blobs
  mountPath: {{ .Values.persistence.mountPath }}
{{- end }}
{{- end -}}

{{- define "clientele.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if .Values.persistence.enabled }}
- name: blobs
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim | default (printf "%s-blobs" (include "clientele.fullname" .)) }}
{{- end }}
{{- end -}}

{{/* Prometheus label selectors used by the alerts. */}}
{{- define "clientele.promServe" -}}
{{- .Values.prometheusRule.selectors.serve | default (printf "namespace=%q,job=%q" .Release.Namespace (include "clientele.fullname" .)) -}}
{{- end -}}
{{- define "clientele.promWorker" -}}
{{- .Values.prometheusRule.selectors.worker | default (printf "namespace=%q,job=%q" .Release.Namespace (printf "%s-worker" (include "clientele.fullname" .))) -}}
{{- end -}}
{{- define "clientele.promAll" -}}
{{- .Values.prometheusRule.selectors.all | default (printf "namespace=%q,job=~%q" .Release.Namespace (printf "%s|%s-worker" (include "clientele.fullname" .) (include "clientele.fullname" .))) -}}
{{- end -}}
