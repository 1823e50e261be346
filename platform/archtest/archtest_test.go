package archtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func TestImportDirection(t *testing.T) {
	root := repoRoot(t)
	pkgs, err := List(root, "", "./...")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the check is not looking at the tree", len(pkgs))
	}
	for _, v := range Check(pkgs) {
		t.Error(v)
	}
}

// Negative cases: packages added through a build overlay break each rule, and
// the check must name each one.
func TestImportDirectionCatchesViolations(t *testing.T) {
	root := repoRoot(t)
	files := map[string]string{
		"tenants/zzarch/t.go":      "package zzarch\n\nconst T = 1\n",
		"modules/zzarcha/a.go":     "package zzarcha\n\nconst A = 1\n",
		"modules/zzarchb/b.go":     "package zzarchb\n\nimport _ \"" + Module + "/modules/zzarcha\"\n",
		"modules/zzarchc/c.go":     "package zzarchc\n\nimport _ \"" + Module + "/tenants/zzarch\"\n",
		"platform/zzarchbad/p.go":  "package zzarchbad\n\nimport _ \"" + Module + "/tenants/zzarch\"\n",
		"platform/zzarchbad2/p.go": "package zzarchbad2\n\nimport _ \"" + Module + "/modules/zzarcha\"\n",
		"platform/zzarchfine/p.go": "package zzarchfine\n\nimport _ \"" + Module + "/platform/errs\"\n",
	}
	dir := t.TempDir()
	overlay := struct{ Replace map[string]string }{Replace: map[string]string{}}
	var patterns []string
	for rel, src := range files {
		f := filepath.Join(dir, strings.ReplaceAll(rel, "/", "_"))
		if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		overlay.Replace[filepath.Join(root, rel)] = f
		patterns = append(patterns, "./"+filepath.Dir(rel))
	}
	ov := filepath.Join(dir, "overlay.json")
	b, _ := json.Marshal(overlay)
	if err := os.WriteFile(ov, b, 0o600); err != nil {
		t.Fatal(err)
	}
	pkgs, err := List(root, ov, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Check(pkgs), "\n")
	for _, want := range []string{
		"modules/zzarchb imports " + Module + "/modules/zzarcha",
		"modules/zzarchc imports " + Module + "/tenants/zzarch",
		"platform/zzarchbad imports " + Module + "/tenants/zzarch",
		"platform/zzarchbad2 imports " + Module + "/modules/zzarcha",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check missed %q; it reported:\n%s", want, got)
		}
	}
	if strings.Contains(got, "zzarchfine") {
		t.Errorf("a legal import was flagged:\n%s", got)
	}
}
