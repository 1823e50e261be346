// Package archtest checks the import direction of the tree with `go list -deps`:
// platform imports no module and not tenants; tenants imports no module; a module
// imports neither tenants nor another module. Only cmd sees everything.
package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
)

// Module is the Go module path of the repository.
const Module = "github.com/clientele-crm/clientele"

// Package is what go list says of one package.
type Package struct {
	ImportPath string
	Deps       []string
}

// List runs `go list -deps -json` for patterns in dir; overlay, when set, is a
// go build overlay file (used by the negative tests to add a violating package).
func List(dir, overlay string, patterns ...string) ([]Package, error) {
	args := []string{"list", "-e", "-json=ImportPath,Deps"}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	args = append(args, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(&out)
	for {
		var p Package
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// area classifies an import path: "platform", "tenants", "module:<name>", "cmd", "web",
// "migrations" or "" for paths outside the repository.
func area(path string) string {
	if path != Module && !strings.HasPrefix(path, Module+"/") {
		return ""
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(path, Module), "/")
	parts := strings.Split(rest, "/")
	switch parts[0] {
	case "modules":
		if len(parts) > 1 {
			return "module:" + parts[1]
		}
		return "modules"
	default:
		return parts[0]
	}
}

// Check returns one line per forbidden import, sorted.
func Check(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		from := area(p.ImportPath)
		for _, d := range p.Deps {
			to := area(d)
			if to == "" || to == from {
				continue
			}
			if bad, why := forbidden(from, to); bad {
				out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, d, why))
			}
		}
	}
	sort.Strings(out)
	return out
}

func forbidden(from, to string) (bool, string) {
	isModule := func(a string) bool { return strings.HasPrefix(a, "module:") }
	switch {
	case from == "platform" && (isModule(to) || to == "tenants"):
		return true, "platform is the kernel and imports no module and not tenants"
	case from == "platform" && to == "cmd":
		return true, "only cmd wires things together"
	case from == "tenants" && (isModule(to) || to == "cmd"):
		return true, "tenants imports only platform"
	case isModule(from) && to == "tenants":
		return true, "modules see members through a platform interface, never tenants"
	case isModule(from) && isModule(to):
		return true, "modules never import each other; declare a small interface and let cmd pass the value in"
	case isModule(from) && to == "cmd":
		return true, "only cmd wires things together"
	case from == "migrations" && to != "":
		return true, "migrations are data and import nothing of ours"
	}
	return false, ""
}
