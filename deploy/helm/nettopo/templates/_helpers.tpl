{{/* Names and labels shared by every object of the chart. */}}

{{- define "nettopo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The labels of one component: pass (dict "root" $ "component" "collector"). */}}
{{- define "nettopo.labels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "nettopo.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "nettopo.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* --topic-prefix when one is set. */}}
{{- define "nettopo.topicPrefixArgs" -}}
{{- if .Values.kafka.topicPrefix -}}
- --topic-prefix
- {{ .Values.kafka.topicPrefix | quote }}
{{- end -}}
{{- end -}}

{{/* The Kafka brokers, an env entry every component gets. */}}
{{- define "nettopo.kafkaEnv" -}}
- name: NETTOPO_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
{{- end -}}

{{/* SASL/TLS settings from a Secret, when one is named (envFrom of every component). */}}
{{- define "nettopo.kafkaEnvFrom" -}}
{{- if .Values.kafka.existingSecret -}}
envFrom:
  - secretRef:
      name: {{ .Values.kafka.existingSecret }}
{{- end -}}
{{- end -}}

{{/* The pod security every component shares: the runtime's seccomp profile, no privilege escalation. */}}
{{- define "nettopo.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}
