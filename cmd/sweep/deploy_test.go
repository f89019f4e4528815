package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The alert rules and the Grafana dashboard in deploy/ use only metrics that
// sweep defines, so a renamed metric cannot leave a silent alert behind.
func TestDeployFilesUseDefinedMetrics(t *testing.T) {
	root := filepath.Join("..", "..")
	defined := map[string]bool{}
	name := regexp.MustCompile(`"(sweep_[a-z_]+)"`)
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, m := range name.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if !defined["sweep_customers_deleted_total"] {
		t.Fatalf("found no metric definitions under %s", root)
	}
	dash, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "sweep-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("dashboard: %v, %d panels", err, len(d.Panels))
	}
	alerts, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`sweep_[a-z_]+`)
	for file, text := range map[string]string{"dashboard": string(dash), "alerts": string(alerts)} {
		for _, m := range used.FindAllString(text, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
			if !defined[base] && !defined[m] {
				t.Errorf("%s uses %s, which sweep does not define", file, m)
			}
		}
	}
}
