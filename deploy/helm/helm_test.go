// Package helm_test checks the Helm chart in sweep/: it renders the chart with
// every values file in sweep/ci/ through `go run helm.sh/helm/v3/cmd/helm`
// (the version the Makefile names), decodes every rendered document and checks
// that each is a Kubernetes object of a kind the chart is meant to make, with
// the fields that kind needs and references that resolve within the release.
//
// The YAML is decoded by Helm itself (fromYaml, then toJson, in a throwaway
// chart), so the module needs no YAML library of its own.
package helm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/sweephq/sweep/plan"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const chartDir = "sweep"

// helmModule reads HELM_VERSION from the Makefile, so `make chart` and this
// test run the same Helm.
func helmModule(t *testing.T) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^HELM_VERSION\s*\?=\s*(\S+)\s*$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile: no HELM_VERSION ?= line")
	}
	return "helm.sh/helm/v3/cmd/helm@" + string(m[1])
}

var (
	helmOnce sync.Once
	helmErr  error
)

// helm runs Helm with args and returns its standard output. The first call
// checks that Helm can be built at all: where it cannot (no module proxy and
// an empty module cache) the test is skipped, except in CI.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	mod := helmModule(t)
	helmOnce.Do(func() {
		out, err := exec.Command("go", "run", mod, "version").CombinedOutput()
		if err != nil {
			helmErr = fmt.Errorf("go run %s version: %v\n%s", mod, err, out)
		}
	})
	if helmErr != nil {
		if os.Getenv("CI") == "true" || os.Getenv("SWEEP_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("Helm cannot run: %v", helmErr)
		}
		t.Skipf("skipped: Helm cannot run here (it is fetched as a Go module; CI fails instead of skipping): %v", helmErr)
	}
	cmd := exec.Command("go", append([]string{"run", mod}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// docSeparator splits a YAML stream into documents.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decode turns Helm's rendered YAML into objects, parsed by Helm's own YAML
// decoder in a chart made for it, and checks that none was lost on the way.
func decode(t *testing.T, rendered string) []object {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":    "apiVersion: v2\nname: yaml2json\nversion: 0.0.0\n",
		"rendered.yaml": rendered,
		"templates/json.yaml": `{{- $items := list }}
{{- range $doc := regexSplit "(?m)^---[ \\t]*$" (.Files.Get "rendered.yaml") -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj }}{{ $items = append $items $obj }}{{ end }}
{{- end }}
{{- dict "apiVersion" "v1" "kind" "List" "items" $items | toJson }}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := helm(t, "template", "x", dir)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(out, "\n{")
	if start < 0 {
		t.Fatalf("no JSON in the decoder's output:\n%s", out)
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(out[start:]), &list); err != nil {
		t.Fatalf("decoder output: %v", err)
	}

	want := 0 // documents with anything but comments
	for _, doc := range docSeparator.Split(rendered, -1) {
		for line := range strings.Lines(doc) {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				want++
				break
			}
		}
	}
	if len(list.Items) != want {
		t.Fatalf("decoded %d objects from %d documents", len(list.Items), want)
	}
	objs := make([]object, len(list.Items))
	for i, raw := range list.Items {
		var errObj struct{ Error string }
		if json.Unmarshal(raw, &errObj) == nil && errObj.Error != "" {
			t.Fatalf("document %d is not valid YAML: %s", i, errObj.Error)
		}
		if err := json.Unmarshal(raw, &objs[i]); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		objs[i].raw = raw
	}
	return objs
}

// The parts of Kubernetes objects the checks read. A field of the wrong type
// (a string for replicas, a number in a ScaledObject's metadata) fails the
// decoding.
type (
	meta struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	object struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   meta   `json:"metadata"`
		raw        json.RawMessage
	}
	labelSelector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port any    `json:"port"`
		} `json:"httpGet"`
		PeriodSeconds int `json:"periodSeconds"`
	}
	containerPort struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	}
	servicePort struct {
		Name       string `json:"name"`
		Port       int    `json:"port"`
		TargetPort any    `json:"targetPort"`
	}
	envVar struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"secretKeyRef"`
		} `json:"valueFrom"`
	}
	container struct {
		Name           string          `json:"name"`
		Image          string          `json:"image"`
		Args           []string        `json:"args"`
		Env            []envVar        `json:"env"`
		Ports          []containerPort `json:"ports"`
		LivenessProbe  *probe          `json:"livenessProbe"`
		ReadinessProbe *probe          `json:"readinessProbe"`
		Resources      struct {
			Requests map[string]any `json:"requests"`
			Limits   map[string]any `json:"limits"`
		} `json:"resources"`
		SecurityContext *struct {
			ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
			RunAsNonRoot             *bool `json:"runAsNonRoot"`
			AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		} `json:"securityContext"`
		VolumeMounts []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
		} `json:"volumeMounts"`
		Lifecycle *struct {
			PreStop *struct {
				Sleep *struct {
					Seconds int `json:"seconds"`
				} `json:"sleep"`
			} `json:"preStop"`
		} `json:"lifecycle"`
	}
	podTemplate struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Containers      []container `json:"containers"`
			RestartPolicy   string      `json:"restartPolicy"`
			SecurityContext *struct {
				RunAsNonRoot *bool `json:"runAsNonRoot"`
				RunAsUser    *int  `json:"runAsUser"`
			} `json:"securityContext"`
			TerminationGracePeriodSeconds *int `json:"terminationGracePeriodSeconds"`
			Volumes                       []struct {
				Name     string `json:"name"`
				EmptyDir *struct {
					SizeLimit any `json:"sizeLimit"`
				} `json:"emptyDir"`
			} `json:"volumes"`
		} `json:"spec"`
	}
	deployment struct {
		Spec struct {
			Replicas *int          `json:"replicas"`
			Selector labelSelector `json:"selector"`
			Template podTemplate   `json:"template"`
		} `json:"spec"`
	}
	job struct {
		Spec struct {
			BackoffLimit *int        `json:"backoffLimit"`
			Template     podTemplate `json:"template"`
		} `json:"spec"`
	}
	pdb struct {
		Spec struct {
			MinAvailable   any           `json:"minAvailable"`
			MaxUnavailable any           `json:"maxUnavailable"`
			Selector       labelSelector `json:"selector"`
		} `json:"spec"`
	}
	service struct {
		Spec struct {
			Type      string            `json:"type"`
			ClusterIP string            `json:"clusterIP"`
			Selector  map[string]string `json:"selector"`
			Ports     []servicePort     `json:"ports"`
		} `json:"spec"`
	}
	secret struct {
		StringData map[string]string `json:"stringData"`
		Data       map[string]string `json:"data"`
	}
	scaledObject struct {
		Spec struct {
			ScaleTargetRef struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Name       string `json:"name"`
			} `json:"scaleTargetRef"`
			MinReplicaCount *int `json:"minReplicaCount"`
			MaxReplicaCount *int `json:"maxReplicaCount"`
			Triggers        []struct {
				Type     string            `json:"type"`
				Metadata map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	serviceMonitor struct {
		Spec struct {
			Selector  labelSelector `json:"selector"`
			Endpoints []struct {
				Port string `json:"port"`
				Path string `json:"path"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
)

// The kinds the chart makes, with their API versions.
var apiVersions = map[string]string{
	"Deployment":          "apps/v1",
	"Service":             "v1",
	"Secret":              "v1",
	"ServiceAccount":      "v1",
	"PodDisruptionBudget": "policy/v1",
	"Job":                 "batch/v1",
	"ScaledObject":        "keda.sh/v1alpha1",
	"ServiceMonitor":      "monitoring.coreos.com/v1",
	"ConfigMap":           "v1", // the erasure plan, when values give one
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func as[T any](t *testing.T, o object) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(o.raw, &v); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
	return v
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func hook(o object) (phases []string, weight int, ok bool) {
	h, ok := o.Metadata.Annotations["helm.sh/hook"]
	if !ok {
		return nil, 0, false
	}
	weight, _ = strconv.Atoi(o.Metadata.Annotations["helm.sh/hook-weight"])
	return strings.Split(h, ","), weight, true
}

// A release as rendered, with what the checks look up.
type release struct {
	objs        []object
	secrets     map[string]secret
	deployments map[string]deployment
	services    map[string]service
	// externalSecret is the Secret the values name but the chart does not make.
	externalSecret string
}

func checkRelease(t *testing.T, objs []object, externalSecret string) *release {
	t.Helper()
	r := &release{objs: objs, secrets: map[string]secret{}, deployments: map[string]deployment{}, services: map[string]service{}, externalSecret: externalSecret}
	seen := map[string]bool{}
	for _, o := range objs {
		want, ok := apiVersions[o.Kind]
		if !ok {
			t.Errorf("kind %q (%s) is not one the chart is meant to make; add it to apiVersions and its checks", o.Kind, o.Metadata.Name)
			continue
		}
		if o.APIVersion != want {
			t.Errorf("%s %s: apiVersion %q, want %q", o.Kind, o.Metadata.Name, o.APIVersion, want)
		}
		if o.Kind == "ConfigMap" {
			// The plan reaches the pods as the operator wrote it.
			cm := as[struct {
				Data map[string]string `json:"data"`
			}](t, o)
			if _, err := plan.Parse("plan.yaml", []byte(cm.Data["plan.yaml"])); err != nil {
				t.Errorf("ConfigMap %s: plan.yaml does not parse: %v", o.Metadata.Name, err)
			}
		}
		if !dnsLabel.MatchString(o.Metadata.Name) || len(o.Metadata.Name) > 63 {
			t.Errorf("%s: name %q is not a DNS label", o.Kind, o.Metadata.Name)
		}
		for k, v := range o.Metadata.Labels {
			if len(v) > 63 || (v != "" && !regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`).MatchString(v)) {
				t.Errorf("%s %s: label %s=%q is not a valid label value", o.Kind, o.Metadata.Name, k, v)
			}
		}
		id := o.Kind + "/" + o.Metadata.Name
		if seen[id] {
			t.Errorf("%s rendered twice", id)
		}
		seen[id] = true
		switch o.Kind {
		case "Secret":
			r.secrets[o.Metadata.Name] = as[secret](t, o)
		case "Deployment":
			r.deployments[o.Metadata.Name] = as[deployment](t, o)
		case "Service":
			r.services[o.Metadata.Name] = as[service](t, o)
		}
	}
	for _, o := range objs {
		switch o.Kind {
		case "Secret":
			s := r.secrets[o.Metadata.Name]
			if len(s.StringData)+len(s.Data) == 0 {
				t.Errorf("Secret %s holds nothing", o.Metadata.Name)
			}
			for k, v := range s.StringData {
				if v == "" {
					t.Errorf("Secret %s: %s is empty", o.Metadata.Name, k)
				}
			}
		case "Deployment":
			r.checkDeployment(t, o)
		case "Job":
			r.checkJob(t, o)
		case "PodDisruptionBudget":
			p := as[pdb](t, o)
			if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
				t.Errorf("PodDisruptionBudget %s: exactly one of minAvailable and maxUnavailable, found %v and %v", o.Metadata.Name, p.Spec.MinAvailable, p.Spec.MaxUnavailable)
			}
			if r.selectedPods(p.Spec.Selector.MatchLabels) == 0 {
				t.Errorf("PodDisruptionBudget %s: selector %v selects no Deployment's pods", o.Metadata.Name, p.Spec.Selector.MatchLabels)
			}
		case "Service":
			r.checkService(t, o)
		case "ScaledObject":
			r.checkScaledObject(t, o)
		case "ServiceMonitor":
			sm := as[serviceMonitor](t, o)
			covered := map[string]bool{}
			for name, s := range r.services {
				if !selects(sm.Spec.Selector.MatchLabels, findObject(r.objs, "Service", name).Metadata.Labels) {
					continue
				}
				for _, ep := range sm.Spec.Endpoints {
					if !slices.ContainsFunc(s.Spec.Ports, func(p servicePort) bool { return p.Name == ep.Port }) {
						t.Errorf("ServiceMonitor %s: endpoint port %q not on Service %s", o.Metadata.Name, ep.Port, name)
					}
				}
				for dn, d := range r.deployments {
					if selects(s.Spec.Selector, d.Spec.Template.Metadata.Labels) {
						covered[dn] = true
					}
				}
			}
			for dn := range r.deployments {
				if !covered[dn] {
					t.Errorf("ServiceMonitor %s: the pods of Deployment %s are not scraped (no selected Service selects them)", o.Metadata.Name, dn)
				}
			}
			for _, ep := range sm.Spec.Endpoints {
				if ep.Path != "/metrics" {
					t.Errorf("ServiceMonitor %s: path %q, want /metrics", o.Metadata.Name, ep.Path)
				}
			}
		}
	}
	return r
}

func findObject(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	return object{}
}

func (r *release) selectedPods(sel map[string]string) int {
	n := 0
	for _, d := range r.deployments {
		if selects(sel, d.Spec.Template.Metadata.Labels) {
			n++
		}
	}
	return n
}

// checkPod checks what every pod of the chart needs; owner names it in errors.
func (r *release) checkPod(t *testing.T, owner string, pod podTemplate, hookSecretsOK func(name string) bool) {
	t.Helper()
	spec := pod.Spec
	if len(spec.Containers) == 0 {
		t.Errorf("%s: no containers", owner)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: the pod does not require a non-root user", owner)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	for _, c := range spec.Containers {
		where := owner + " container " + c.Name
		if c.Name == "" || c.Image == "" || strings.HasSuffix(c.Image, ":") {
			t.Errorf("%s: name %q, image %q", where, c.Name, c.Image)
		}
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem not read-only", where)
		}
		if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("%s: privilege escalation not turned off", where)
		}
		if len(c.Resources.Requests) == 0 || len(c.Resources.Limits) == 0 {
			t.Errorf("%s: resources %+v, want requests and limits", where, c.Resources)
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("%s: mounts volume %q, which the pod does not have", where, m.Name)
			}
			mounts[m.MountPath] = m.Name
		}
		env := map[string]envVar{}
		for _, e := range c.Env {
			if _, dup := env[e.Name]; dup {
				t.Errorf("%s: %s set twice", where, e.Name)
			}
			env[e.Name] = e
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				s, made := r.secrets[ref.Name]
				switch {
				case made:
					if _, ok := s.StringData[ref.Key]; !ok {
						if _, ok := s.Data[ref.Key]; !ok {
							t.Errorf("%s: %s reads key %q, which Secret %s does not hold", where, e.Name, ref.Key, ref.Name)
						}
					}
					if !hookSecretsOK(ref.Name) {
						t.Errorf("%s: %s reads Secret %s, which does not exist when this pod starts", where, e.Name, ref.Name)
					}
				case ref.Name != r.externalSecret:
					t.Errorf("%s: %s reads Secret %s, which neither the chart makes nor the values name", where, e.Name, ref.Name)
				}
			}
		}
		for _, name := range []string{"SWEEP_DATABASE_URL", "SWEEP_REDIS_URL"} {
			if e, ok := env[name]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: %s does not come from a Secret", where, name)
			}
		}
		// Uploads are spooled to SWEEP_SPOOL_DIR, which must be a writable,
		// size-limited emptyDir since the root filesystem is read-only.
		spool, ok := env["SWEEP_SPOOL_DIR"]
		if !ok || spool.Value == nil {
			t.Errorf("%s: SWEEP_SPOOL_DIR not set", where)
		} else if vol, ok := mounts[*spool.Value]; !ok {
			t.Errorf("%s: SWEEP_SPOOL_DIR %s is not a mounted volume", where, *spool.Value)
		} else {
			for _, v := range spec.Volumes {
				if v.Name == vol && (v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil) {
					t.Errorf("%s: volume %s at SWEEP_SPOOL_DIR is not an emptyDir with a sizeLimit", where, vol)
				}
			}
		}
	}
}

func (r *release) checkDeployment(t *testing.T, o object) {
	t.Helper()
	d := r.deployments[o.Metadata.Name]
	owner := "Deployment " + o.Metadata.Name
	if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
		t.Errorf("%s: selector %v does not match the pod labels %v", owner, d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
	}
	r.checkPod(t, owner, d.Spec.Template, func(name string) bool {
		_, _, isHook := hook(findObject(r.objs, "Secret", name))
		return !isHook // a hook Secret is gone once the hooks are done
	})
	component := d.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]
	for _, c := range d.Spec.Template.Spec.Containers {
		where := owner + " container " + c.Name
		if want := []string{"serve", "--roles", component}; !slices.Equal(c.Args, want) {
			t.Errorf("%s: args %q, want %q", where, c.Args, want)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for _, p := range []struct {
			name, path string
			probe      *probe
		}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s: no %s probe", where, p.name)
				continue
			}
			if p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s: %s probe on %q, want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
			}
			if name, ok := p.probe.HTTPGet.Port.(string); ok && !ports[name] {
				t.Errorf("%s: %s probe on port %q, which the container does not name", where, p.name, name)
			}
		}
		// Kubernetes must leave sweep its shutdown timeout (after any preStop
		// sleep) before it kills the process.
		shutdown := 30 * time.Second
		for _, e := range c.Env {
			if e.Name == "SWEEP_SHUTDOWN_TIMEOUT" && e.Value != nil {
				var err error
				if shutdown, err = time.ParseDuration(*e.Value); err != nil {
					t.Errorf("%s: SWEEP_SHUTDOWN_TIMEOUT %q: %v", where, *e.Value, err)
				}
			}
		}
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			shutdown += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
		grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if grace == nil || time.Duration(*grace)*time.Second <= shutdown {
			t.Errorf("%s: terminationGracePeriodSeconds %v, want more than %v", where, grace, shutdown)
		}
	}
}

func (r *release) checkJob(t *testing.T, o object) {
	t.Helper()
	j := as[job](t, o)
	owner := "Job " + o.Metadata.Name
	phases, weight, isHook := hook(o)
	if !isHook || !slices.Contains(phases, "pre-install") || !slices.Contains(phases, "pre-upgrade") {
		t.Errorf("%s: hook %v, want pre-install and pre-upgrade", owner, phases)
	}
	if _, err := strconv.Atoi(o.Metadata.Annotations["helm.sh/hook-weight"]); err != nil {
		t.Errorf("%s: hook weight %q", owner, o.Metadata.Annotations["helm.sh/hook-weight"])
	}
	if o.Metadata.Annotations["helm.sh/hook-delete-policy"] == "" {
		t.Errorf("%s: no hook delete policy", owner)
	}
	if rp := j.Spec.Template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
		t.Errorf("%s: restartPolicy %q", owner, rp)
	}
	for _, c := range j.Spec.Template.Spec.Containers {
		if !slices.Equal(c.Args, []string{"migrate", "up"}) {
			t.Errorf("%s: args %q, want migrate up", owner, c.Args)
		}
	}
	// Before install nothing of the release exists but the hooks run so far:
	// a Secret the Job reads must be a hook of the same phases with a lower
	// weight (or one the chart does not make).
	r.checkPod(t, owner, j.Spec.Template, func(name string) bool {
		sp, sw, ok := hook(findObject(r.objs, "Secret", name))
		return ok && sw < weight && slices.Contains(sp, "pre-install") && slices.Contains(sp, "pre-upgrade")
	})
	// A ServiceAccount the chart makes does not exist yet either.
	var sa struct {
		Spec struct {
			Template struct {
				Spec struct {
					ServiceAccountName string `json:"serviceAccountName"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(o.raw, &sa); err != nil {
		t.Fatal(err)
	}
	if name := sa.Spec.Template.Spec.ServiceAccountName; name != "" {
		if made := findObject(r.objs, "ServiceAccount", name); made.Kind != "" {
			if _, _, isHook := hook(made); !isHook {
				t.Errorf("%s: runs as ServiceAccount %s, which the release makes only after its pre-install hooks", owner, name)
			}
		}
	}
}

func (r *release) checkService(t *testing.T, o object) {
	t.Helper()
	s := r.services[o.Metadata.Name]
	n := 0
	for dn, d := range r.deployments {
		if !selects(s.Spec.Selector, d.Spec.Template.Metadata.Labels) {
			continue
		}
		n++
		for _, p := range s.Spec.Ports {
			name, ok := p.TargetPort.(string)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(d.Spec.Template.Spec.Containers, func(c container) bool {
				return slices.ContainsFunc(c.Ports, func(cp containerPort) bool { return cp.Name == name })
			}) {
				t.Errorf("Service %s: targetPort %q is not a port of Deployment %s", o.Metadata.Name, name, dn)
			}
		}
	}
	if n == 0 {
		t.Errorf("Service %s: selector %v selects no Deployment's pods", o.Metadata.Name, s.Spec.Selector)
	}
	for _, p := range s.Spec.Ports {
		if p.Port < 1 || p.Port > 65535 {
			t.Errorf("Service %s: port %d", o.Metadata.Name, p.Port)
		}
	}
}

func (r *release) checkScaledObject(t *testing.T, o object) {
	t.Helper()
	so := as[scaledObject](t, o)
	owner := "ScaledObject " + o.Metadata.Name
	target, ok := r.deployments[so.Spec.ScaleTargetRef.Name]
	if !ok || so.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Fatalf("%s: scales %s %q, not a Deployment of the release", owner, so.Spec.ScaleTargetRef.Kind, so.Spec.ScaleTargetRef.Name)
	}
	if c := target.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]; c != "worker" {
		t.Errorf("%s: scales the %s Deployment, want the worker", owner, c)
	}
	if target.Spec.Replicas != nil {
		t.Errorf("%s: the worker Deployment also sets replicas (%d): each upgrade would fight KEDA", owner, *target.Spec.Replicas)
	}
	if mn, mx := so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount; mn == nil || mx == nil || *mn > *mx || *mx < 1 {
		t.Errorf("%s: min %v, max %v replicas", owner, mn, mx)
	}
	if len(so.Spec.Triggers) == 0 {
		t.Fatalf("%s: no triggers", owner)
	}
	defined := definedMetrics(t)
	for _, tr := range so.Spec.Triggers {
		if tr.Type != "prometheus" {
			t.Errorf("%s: trigger type %q", owner, tr.Type)
			continue
		}
		for _, k := range []string{"serverAddress", "query", "threshold"} {
			if tr.Metadata[k] == "" {
				t.Errorf("%s: trigger without %s", owner, k)
			}
		}
		if _, err := strconv.ParseFloat(tr.Metadata["threshold"], 64); err != nil {
			t.Errorf("%s: threshold %q is not a number", owner, tr.Metadata["threshold"])
		}
		for _, problem := range checkQuery(tr.Metadata["query"], defined) {
			t.Errorf("%s: %s", owner, problem)
		}
	}
}

// Labels Prometheus adds to every series it scrapes from Kubernetes targets.
var targetLabels = []string{"namespace", "pod", "service", "job", "instance", "container", "endpoint"}

// checkQuery returns what is wrong with a PromQL query: a metric sweep does
// not define, a label selected that neither the metric nor the scrape target
// carries, a grouping by a label none of its metrics carries, or no count of
// the pending tasks.
func checkQuery(query string, defined map[string][]string) (problems []string) {
	metric := regexp.MustCompile(`\b(sweep_[a-z_]+)(\{[^}]*\})?`)
	matcher := regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	grouping := regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	var usable []string
	pending := false
	for _, m := range metric.FindAllStringSubmatch(query, -1) {
		labels, ok := defined[m[1]]
		if !ok {
			problems = append(problems, fmt.Sprintf("query uses %s, which sweep does not define: %s", m[1], query))
			continue
		}
		usable = append(usable, labels...)
		for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(labels, l[1]) && !slices.Contains(targetLabels, l[1]) {
				problems = append(problems, fmt.Sprintf("query selects %s{%s}, a label it does not carry (it has %v)", m[1], l[1], labels))
			}
			if m[1] == "sweep_queue_size" && l[1] == "state" {
				if re, err := regexp.Compile("^(?:" + l[3] + ")$"); err == nil && (l[2] == "=" || l[2] == "=~") && re.MatchString("pending") {
					pending = true
				}
			}
		}
	}
	if !pending {
		problems = append(problems, "query does not count sweep_queue_size{state=\"pending\"}: "+query)
	}
	for _, g := range grouping.FindAllStringSubmatch(query, -1) {
		for l := range strings.SplitSeq(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(usable, l) && !slices.Contains(targetLabels, l) {
				problems = append(problems, fmt.Sprintf("query groups by %q, which none of its metrics carries: %s", l, query))
			}
		}
	}
	return problems
}

var (
	definedOnce sync.Once
	defined     map[string][]string
	definedErr  error
)

// definedMetrics finds the metrics sweep defines (the first argument of a
// prometheus.NewDesc call, or the Name of the options of another
// prometheus.New... call) with their labels, in the module's non-test Go files.
func definedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	definedOnce.Do(func() {
		defined = map[string][]string{}
		fset := token.NewFileSet()
		str := func(e ast.Expr) string {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				return s
			}
			return ""
		}
		strs := func(e ast.Expr) (out []string) {
			if cl, ok := e.(*ast.CompositeLit); ok {
				for _, el := range cl.Elts {
					if s := str(el); s != "" {
						out = append(out, s)
					}
				}
			}
			return out
		}
		root := filepath.Join("..", "..")
		definedErr = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" || !strings.HasPrefix(sel.Sel.Name, "New") {
					return true
				}
				var name string
				var labels []string
				if sel.Sel.Name == "NewDesc" && len(call.Args) == 4 {
					name, labels = str(call.Args[0]), strs(call.Args[2])
				} else if opts, ok := call.Args[0].(*ast.CompositeLit); ok {
					for _, el := range opts.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
								name = str(kv.Value)
							}
						}
					}
					if len(call.Args) > 1 && strings.HasSuffix(sel.Sel.Name, "Vec") {
						labels = strs(call.Args[1])
					}
				}
				if strings.HasPrefix(name, "sweep_") {
					defined[name] = labels
				}
				return true
			})
			return nil
		})
	})
	if definedErr != nil {
		t.Fatal(definedErr)
	}
	if got := defined["sweep_queue_size"]; !slices.Equal(got, []string{"queue", "state"}) {
		t.Fatalf("sweep_queue_size defined with labels %v; the scan of the Go source found %d metrics", got, len(defined))
	}
	return defined
}

// TestChartRenders renders the chart with each values file in sweep/ci/ and
// checks every object, then what each file is there to show.
func TestChartRenders(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("values files in %s/ci: %v, %v", chartDir, files, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), "-values.yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := helm(t, "template", "sweep", chartDir, "--namespace", "lending", "-f", f)
			if err != nil {
				t.Fatal(err)
			}
			external := ""
			if m := regexp.MustCompile(`(?m)^\s+existingSecret:\s*(\S+)\s*$`).FindStringSubmatch(mustRead(t, f)); m != nil {
				external = strings.Trim(m[1], `"'`)
			}
			r := checkRelease(t, decode(t, out), external)
			kinds := map[string]int{}
			for _, o := range r.objs {
				kinds[o.Kind]++
			}
			for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget", "Job"} {
				if kinds[k] == 0 {
					t.Errorf("no %s rendered; kinds: %v", k, kinds)
				}
			}
			if kinds["Deployment"] != 3 || kinds["PodDisruptionBudget"] != 3 {
				t.Errorf("%d Deployments and %d PodDisruptionBudgets, want 3 of each (api, worker, scheduler)", kinds["Deployment"], kinds["PodDisruptionBudget"])
			}
			switch name {
			case "default":
				if kinds["ScaledObject"]+kinds["ServiceMonitor"] != 0 {
					t.Errorf("optional objects rendered by default: %v", kinds)
				}
				if d := r.deployments["sweep-scheduler"]; d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
					t.Errorf("scheduler replicas %v, want 2", d.Spec.Replicas)
				}
				p := as[pdb](t, findObject(r.objs, "PodDisruptionBudget", "sweep-scheduler"))
				if fmt.Sprint(p.Spec.MaxUnavailable) != "1" {
					t.Errorf("scheduler PodDisruptionBudget maxUnavailable %v, want 1", p.Spec.MaxUnavailable)
				}
			case "all-on":
				for _, k := range []string{"ScaledObject", "ServiceMonitor"} {
					if kinds[k] != 1 {
						t.Errorf("%d %s rendered with every option on", kinds[k], k)
					}
				}
				if kinds["Secret"] != 0 {
					t.Errorf("the chart made %d Secrets although the values name an existing one", kinds["Secret"])
				}
			case "sentinel":
				s := r.secrets["sweep"]
				if !strings.HasPrefix(s.StringData["SWEEP_REDIS_URL"], "redis-sentinel://") {
					t.Errorf("SWEEP_REDIS_URL in the Secret: %q", s.StringData["SWEEP_REDIS_URL"])
				}
			}
		})
	}
}

// TestChartRefusesBadValues: values that would deploy something broken stop
// the render with a message naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	urls := []string{"--set", "secrets.databaseUrl=postgres://u:p@db:5432/sweep", "--set", "secrets.redisUrl=redis://redis:6379/0"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no database URL", nil, "secrets.databaseUrl is required"},
		{"no Redis URL", []string{"--set", "secrets.databaseUrl=postgres://u:p@db:5432/sweep"}, "secrets.redisUrl is required"},
		{"not a Redis URL", []string{"--set", "secrets.databaseUrl=postgres://u:p@db:5432/sweep", "--set", "secrets.redisUrl=db:6379"}, "secrets.redisUrl must start with"},
		{"grace period too short", append(slices.Clone(urls), "--set", "worker.terminationGracePeriodSeconds=30"), "worker.terminationGracePeriodSeconds (30) must be longer than SWEEP_SHUTDOWN_TIMEOUT (30s)"},
		{"grace period under a longer shutdown", append(slices.Clone(urls), "--set", "config.SWEEP_SHUTDOWN_TIMEOUT=1m"), "api.terminationGracePeriodSeconds (45) must be longer than SWEEP_SHUTDOWN_TIMEOUT (60s)"},
		{"spool dir in config", append(slices.Clone(urls), "--set", "config.SWEEP_SPOOL_DIR=/data"), "SWEEP_SPOOL_DIR is set by the chart"},
		{"Redis URL in a role's env", append(slices.Clone(urls), "--set", "worker.env.SWEEP_REDIS_URL=redis://x:6379/0"), "SWEEP_REDIS_URL is set by the chart"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := helm(t, append([]string{"template", "sweep", chartDir}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

// TestQueryCheck: the query check tells a wrong query from a right one.
func TestQueryCheck(t *testing.T) {
	defined := definedMetrics(t)
	for query, wantOK := range map[string]bool{
		`sum(max by (queue, state) (sweep_queue_size{state=~"pending|active",namespace="x"}))`: true,
		`sum(sweep_queue_size{state="pending"})`:                                               true,
		`sum(sweep_queue_size{state="active"})`:                                                false,
		`sum(sweep_queue_sizes{state="pending"})`:                                              false,
		`sum(sweep_queue_size{stat="pending"})`:                                                false,
		`sum by (tenant) (sweep_queue_size{state="pending"})`:                                  false,
	} {
		if problems := checkQuery(query, defined); (len(problems) == 0) != wantOK {
			t.Errorf("checkQuery(%s) = %q, want it to pass: %v", query, problems, wantOK)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
