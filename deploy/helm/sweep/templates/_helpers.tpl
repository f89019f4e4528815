{{/* Names. */}}
{{- define "sweep.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sweep.fullname" -}}
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

{{- define "sweep.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; "component" in the dict adds the role. */}}
{{- define "sweep.labels" -}}
helm.sh/chart: {{ include "sweep.chart" .root }}
{{ include "sweep.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: sweep
{{- end -}}

{{- define "sweep.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sweep.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "sweep.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sweep.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sweep.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}

{{/* The Secret holding both URLs: the user's, or the chart's. */}}
{{- define "sweep.secretName" -}}
{{- default (include "sweep.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Checks the values once; included by every template that needs them. */}}
{{- define "sweep.validate" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.databaseUrl -}}
{{- fail "secrets.databaseUrl is required (postgres://user:password@host:5432/sweep?sslmode=require), or name a Secret holding it in secrets.existingSecret" -}}
{{- end -}}
{{- if not .Values.secrets.redisUrl -}}
{{- fail "secrets.redisUrl is required (redis://host:6379/0, or redis-sentinel://host1:26379,host2:26379/mymaster?db=0), or name a Secret holding it in secrets.existingSecret" -}}
{{- end -}}
{{- if not (regexMatch "^postgres(ql)?://" .Values.secrets.databaseUrl) -}}
{{- fail "secrets.databaseUrl must start with postgres:// or postgresql://" -}}
{{- end -}}
{{- if not (regexMatch "^rediss?(-sentinel)?://" .Values.secrets.redisUrl) -}}
{{- fail "secrets.redisUrl must start with redis://, rediss://, redis-sentinel:// or rediss-sentinel://" -}}
{{- end -}}
{{- end -}}
{{- $env := list .Values.config .Values.api.env .Values.worker.env .Values.scheduler.env .Values.migrate.env -}}
{{- range $e := $env -}}
{{- range $k := list "SWEEP_DATABASE_URL" "SWEEP_REDIS_URL" "SWEEP_HTTP_ADDR" "SWEEP_SPOOL_DIR" -}}
{{- if hasKey (default dict $e) $k -}}
{{- fail (printf "%s is set by the chart (secrets, http.port, tmp.mountPath); remove it from config and the roles' env" $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $role := list "api" "worker" "scheduler" -}}
{{- $v := index $.Values $role -}}
{{- $own := include "sweep.seconds" (dict "value" (default (default "30s" $.Values.config.SWEEP_SHUTDOWN_TIMEOUT) ($v.env).SWEEP_SHUTDOWN_TIMEOUT)) | int -}}
{{- if and $v.enabled (le (int $v.terminationGracePeriodSeconds) (add $own (int ($v.preStopSleepSeconds | default 0)))) -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%d) must be longer than SWEEP_SHUTDOWN_TIMEOUT (%ds) plus the preStop sleep, or Kubernetes kills sweep before running work is wound down" $role (int $v.terminationGracePeriodSeconds) $own) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.autoscaling.keda.enabled (gt (int .Values.autoscaling.keda.minReplicas) (int .Values.autoscaling.keda.maxReplicas)) -}}
{{- fail "autoscaling.keda.minReplicas must not exceed autoscaling.keda.maxReplicas" -}}
{{- end -}}
{{- end -}}

{{/*
Whole seconds of a Go duration written with h, m and s ("30s", "1m30s", "2m");
0 when it is written otherwise (then no check is made).
*/}}
{{- define "sweep.seconds" -}}
{{- $v := toString .value | trim -}}
{{- $total := 0 -}}
{{- if regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $v -}}
{{- range $part := regexFindAll "[0-9]+[hms]" $v -1 -}}
{{- $n := trimSuffix "h" (trimSuffix "m" (trimSuffix "s" $part)) | int -}}
{{- if hasSuffix "h" $part -}}{{- $total = add $total (mul $n 3600) -}}
{{- else if hasSuffix "m" $part -}}{{- $total = add $total (mul $n 60) -}}
{{- else -}}{{- $total = add $total $n -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
The environment of a container: the URLs from the Secret, the chart's own
settings, then `config` overridden by the role's env (empty values left out).
Takes a dict: root, env (the role's map), secretName.
*/}}
{{- define "sweep.env" -}}
{{- $root := .root -}}
- name: SWEEP_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $root.Values.secrets.databaseUrlKey }}
- name: SWEEP_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $root.Values.secrets.redisUrlKey }}
- name: SWEEP_HTTP_ADDR
  value: {{ printf ":%d" (int $root.Values.http.port) | quote }}
- name: SWEEP_SPOOL_DIR
  value: {{ $root.Values.tmp.mountPath | quote }}
- name: TMPDIR
  value: {{ $root.Values.tmp.mountPath | quote }}
{{- if $root.Values.plan }}
- name: SWEEP_PLAN
  value: /etc/sweep/plan/plan.yaml
{{- end }}
{{- $env := merge (deepCopy (default dict .env)) (deepCopy (default dict $root.Values.config)) }}
{{- range $k := keys $env | sortAlpha }}
{{- $v := index $env $k }}
{{- if not (kindIs "invalid" $v) }}
{{- if ne (toString $v) "" }}
- name: {{ $k }}
  value: {{ toString $v | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Annotations that roll the pods when the chart's Secret or the plan changes. */}}
{{- define "sweep.checksums" -}}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- if .Values.plan }}
checksum/plan: {{ .Values.plan | sha256sum }}
{{- end }}
{{- end -}}

{{/*
A role's Deployment. Takes a dict: root, component (api, worker, scheduler),
values (the role's values), roles (the --roles argument), replicas (false when
something else owns the count).
*/}}
{{- define "sweep.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $labels := dict "root" $root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "sweep.fullname" $root }}-{{ .component }}
  labels:
    {{- include "sweep.labels" $labels | nindent 4 }}
spec:
  {{- if .replicas }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "sweep.selectorLabels" $labels | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "sweep.selectorLabels" $labels | nindent 8 }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $annotations := merge (dict) (default dict $v.podAnnotations) (default dict $root.Values.podAnnotations) (include "sweep.checksums" $root | fromYaml) }}
      {{- with $annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "sweep.serviceAccountName" $root }}
      automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: sweep
          image: {{ include "sweep.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: ["serve", "--roles", {{ .roles | quote }}]
          env:
            {{- include "sweep.env" (dict "root" $root "env" $v.env "secretName" (include "sweep.secretName" $root)) | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ $root.Values.http.port }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml $root.Values.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            {{- toYaml $root.Values.probes.readiness | nindent 12 }}
          {{- if gt (int ($v.preStopSleepSeconds | default 0)) 0 }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $v.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: {{ $root.Values.tmp.mountPath }}
            {{- if $root.Values.plan }}
            - name: plan
              mountPath: /etc/sweep/plan
              readOnly: true
            {{- end }}
      volumes:
        {{- if $root.Values.plan }}
        - name: plan
          configMap:
            name: {{ include "sweep.fullname" $root }}-plan
        {{- end }}
        - name: tmp
          emptyDir:
            {{- with $root.Values.tmp.medium }}
            medium: {{ . }}
            {{- end }}
            sizeLimit: {{ $v.tmpSizeLimit }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $v.affinity }}
      affinity:
        {{- toYaml $v.affinity | nindent 8 }}
      {{- else if eq $v.podAntiAffinity "soft" }}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    {{- include "sweep.selectorLabels" $labels | nindent 20 }}
      {{- else if eq $v.podAntiAffinity "hard" }}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  {{- include "sweep.selectorLabels" $labels | nindent 18 }}
      {{- end }}
      {{- with $v.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
