{{/* Names, labels and the image reference shared by every template of the chart. */}}

{{- define "rathaus.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name: the release name, with the chart name appended unless it already contains it. */}}
{{- define "rathaus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "rathaus.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "rathaus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rathaus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rathaus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component: server, worker or migrations. */}}
{{- define "rathaus.componentLabels" -}}
{{ include "rathaus.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "rathaus.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "rathaus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rathaus.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with RATHAUS_DATABASE_URL, RATHAUS_SECRET_KEY and the other secret settings. */}}
{{- define "rathaus.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "rathaus.fullname" .) }}
{{- end }}

{{- define "rathaus.catalogueConfigMap" -}}
{{- .Values.catalogue.existingConfigMap | default (printf "%s-catalogue" (include "rathaus.fullname" .)) }}
{{- end }}

{{/* Volumes of the server and worker pods: temporary files, the data directory, the catalogue, the weights. */}}
{{- define "rathaus.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
- name: data
  {{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim | default (printf "%s-data" (include "rathaus.fullname" .)) }}
  {{- else }}
  emptyDir: {}
  {{- end }}
- name: catalogue
  configMap:
    name: {{ include "rathaus.catalogueConfigMap" . }}
{{- if .Values.models.existingClaim }}
- name: models
  persistentVolumeClaim:
    claimName: {{ .Values.models.existingClaim }}
    readOnly: true
{{- end }}
{{- end }}

{{- define "rathaus.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/rathaus
- name: catalogue
  mountPath: /var/lib/rathaus/models.yaml
  subPath: models.yaml
  readOnly: true
{{- if .Values.models.existingClaim }}
- name: models
  mountPath: /opt/rathaus/models
  readOnly: true
{{- end }}
{{- end }}

{{/* Environment of the server and worker containers: the settings ConfigMap, then the Secret. */}}
{{- define "rathaus.envFrom" -}}
- configMapRef:
    name: {{ include "rathaus.fullname" . }}-config
- secretRef:
    name: {{ include "rathaus.secretName" . }}
{{- end }}

{{/* Changes of the settings, the catalogue or the Secret roll the pods. */}}
{{- define "rathaus.checksums" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}
