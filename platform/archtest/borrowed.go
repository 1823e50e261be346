package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The Fiber-string rule (docs/fiber-strings.md): strings and bytes read from a
// *fiber.Ctx, from the fasthttp request behind it, or from a huma.Context point
// into buffers Fiber reuses for the next request. Every such read must be copied
// where it is made, or consumed there and then: compared, switched on, measured,
// or handed to a function that keeps nothing of it (a parser, a copy). Handing on
// the getter itself (c.Get as a func value) is refused as well. The rule is
// syntactic, so it does not have to guess how far a value travels: a borrowed
// value never gets a name, a field, a map key, a label, a closure or a goroutine.

// fiberBorrowing are the *fiber.Ctx methods whose result borrows request memory.
var fiberBorrowing = map[string]bool{
	"Method": true, "Params": true, "AllParams": true, "Path": true, "OriginalURL": true,
	"BaseURL": true, "Hostname": true, "Protocol": true, "IP": true, "IPs": true,
	"Get": true, "GetReqHeaders": true, "GetRespHeader": true, "GetRespHeaders": true,
	"Query": true, "Queries": true, "Body": true, "BodyRaw": true, "Cookies": true,
	"FormValue": true, "Subdomains": true,
}

// fiberBytes are the borrowing methods that return []byte, which string() copies.
var fiberBytes = map[string]bool{"Body": true, "BodyRaw": true}

// humaBorrowing are the huma.Context methods that return the adapter's strings.
var humaBorrowing = map[string]bool{"Param": true, "Query": true, "Header": true, "Method": true, "Host": true}

// fasthttpBytes are methods of the fasthttp request, response and URI (reached
// through c.Request(), c.Response() or c.Context()) that return borrowed bytes.
var fasthttpBytes = map[string]bool{
	"Peek": true, "PeekBytes": true, "PeekAll": true, "PeekKeys": true, "PeekMulti": true,
	"Body": true, "BodyRaw": true, "PathOriginal": true, "Path": true, "QueryString": true,
	"RequestURI": true, "Host": true, "Method": true, "Referer": true, "UserAgent": true,
	"ContentType": true, "FullURI": true, "Cookie": true, "Scheme": true, "LastPathSegment": true,
}

// consumers keep nothing of their string or byte arguments: they copy them or
// only read them. Keys are "<import path>.<func>".
var consumers = map[string]bool{
	"github.com/gofiber/fiber/v2/utils.CopyString": true,
	"github.com/gofiber/fiber/v2/utils.CopyBytes":  true,
	"strings.Clone": true, "bytes.Clone": true,
	"strings.EqualFold": true, "strings.HasPrefix": true, "strings.HasSuffix": true,
	"strings.Contains": true, "strings.ContainsAny": true, "strings.ContainsRune": true,
	"strings.Count": true, "strings.Index": true, "strings.IndexByte": true,
	"bytes.Equal": true, "bytes.HasPrefix": true, "bytes.HasSuffix": true, "bytes.Contains": true,
	"strconv.Atoi": true, "strconv.ParseInt": true, "strconv.ParseUint": true,
	"strconv.ParseFloat": true, "strconv.ParseBool": true,
	"github.com/google/uuid.Parse": true, "github.com/google/uuid.ParseBytes": true,
	"net.ParseIP": true, "net/netip.ParseAddr": true,
	"encoding/json.Unmarshal": true, "encoding/json.Valid": true,
	"time.Parse": true, "time.ParseDuration": true,
}

// consumingMethods are methods, on any receiver, that only read their argument.
var consumingMethods = map[string]bool{"MatchString": true, "Match": true}

const (
	fiberPath = "github.com/gofiber/fiber/v2"
	humaPath  = "github.com/danielgtaylor/huma/v2"
)

// CheckBorrowed returns one line per borrowed read in the file that is neither
// copied nor consumed where it is made.
func CheckBorrowed(fset *token.FileSet, f *ast.File) []string {
	imports := map[string]string{} // local name -> import path
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if strings.HasPrefix(name, "v") && len(name) <= 3 { // .../v2
			trimmed := strings.TrimSuffix(p, "/"+name)
			name = trimmed[strings.LastIndex(trimmed, "/")+1:]
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	fiberName, humaName := localName(imports, fiberPath), localName(imports, humaPath)
	if fiberName == "" && humaName == "" {
		return nil
	}
	// The identifiers declared as *fiber.Ctx or huma.Context, by object.
	kinds := map[*ast.Object]string{}
	declare := func(ft *ast.FuncType) {
		if ft == nil || ft.Params == nil {
			return
		}
		for _, p := range ft.Params.List {
			kind := ""
			if star, ok := p.Type.(*ast.StarExpr); ok && isSel(star.X, fiberName, "Ctx") {
				kind = "fiber"
			} else if isSel(p.Type, humaName, "Context") {
				kind = "huma"
			}
			for _, n := range p.Names {
				if kind != "" && n.Obj != nil {
					kinds[n.Obj] = kind
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch fn := n.(type) {
		case *ast.FuncDecl:
			declare(fn.Type)
		case *ast.FuncLit:
			declare(fn.Type)
		}
		return true
	})
	if len(kinds) == 0 {
		return nil
	}

	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		parents := stack
		stack = append(stack, n)
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		borrowed, bytes, what := classify(sel, kinds)
		if !borrowed {
			return true
		}
		call, isCall := parent(parents, 0).(*ast.CallExpr)
		if !isCall || call.Fun != sel {
			report(sel, "%s handed on as a func value returns borrowed strings; pass a getter that copies (httpx.HeaderOf, or utils.CopyString inside)", strings.TrimSuffix(what, "()"))
			return true
		}
		if !consumed(call, parents[:len(parents)-1], bytes, imports) {
			report(call, "%s borrows a buffer Fiber reuses; copy it where it is read (utils.CopyString, strings.Clone, bytes.Clone) or consume it there", what)
		}
		return true
	})
	sort.Strings(out)
	return out
}

// classify tells whether sel names a borrowing method of a request context, and
// whether what it returns is bytes.
func classify(sel *ast.SelectorExpr, kinds map[*ast.Object]string) (borrowed, bytes bool, what string) {
	name := sel.Sel.Name
	if id, ok := sel.X.(*ast.Ident); ok && id.Obj != nil {
		switch kinds[id.Obj] {
		case "fiber":
			if fiberBorrowing[name] {
				return true, fiberBytes[name], id.Name + "." + name + "()"
			}
		case "huma":
			if humaBorrowing[name] {
				return true, false, id.Name + "." + name + "()"
			}
		}
		return false, false, ""
	}
	if !fasthttpBytes[name] {
		return false, false, ""
	}
	// A chain rooted at c.Request(), c.Response() or c.Context() of a Fiber ctx.
	for x := sel.X; ; {
		switch v := x.(type) {
		case *ast.SelectorExpr:
			x = v.X
			continue
		case *ast.CallExpr:
			if s, ok := v.Fun.(*ast.SelectorExpr); ok {
				if id, ok := s.X.(*ast.Ident); ok && id.Obj != nil && kinds[id.Obj] == "fiber" {
					switch s.Sel.Name {
					case "Request", "Response", "Context":
						return true, true, id.Name + "." + s.Sel.Name + "()…" + name + "()"
					}
					return false, false, ""
				}
				x = s.X
				continue
			}
		}
		return false, false, ""
	}
}

// consumed reports whether the borrowed call is used up where it stands.
func consumed(call *ast.CallExpr, parents []ast.Node, bytes bool, imports map[string]string) bool {
	var child ast.Node = call
	for i := len(parents) - 1; i >= 0; i-- {
		switch p := parents[i].(type) {
		case *ast.ParenExpr:
			child = p
			continue
		case *ast.ExprStmt:
			return true // result dropped
		case *ast.SwitchStmt:
			return p.Tag == child
		case *ast.BinaryExpr:
			switch p.Op {
			case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
				return true
			case token.ADD:
				// Concatenation with a non-empty constant makes a new string;
				// with an empty one Go may return the operand itself.
				other := p.X
				if other == child {
					other = p.Y
				}
				lit, ok := other.(*ast.BasicLit)
				return ok && lit.Kind == token.STRING && len(lit.Value) > 2
			}
			return false
		case *ast.CallExpr:
			if p.Fun == child {
				return false
			}
			switch fn := p.Fun.(type) {
			case *ast.Ident:
				return fn.Name == "len" || (fn.Name == "string" && bytes)
			case *ast.SelectorExpr:
				if pkg, ok := fn.X.(*ast.Ident); ok && imports[pkg.Name] != "" && pkg.Obj == nil {
					return consumers[imports[pkg.Name]+"."+fn.Sel.Name]
				}
				return consumingMethods[fn.Sel.Name]
			}
			return false
		default:
			return false
		}
	}
	return false
}

func parent(stack []ast.Node, up int) ast.Node {
	if len(stack) <= up {
		return nil
	}
	return stack[len(stack)-1-up]
}

func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || pkg == "" {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == pkg && s.Sel.Name == name
}

func localName(imports map[string]string, path string) string {
	for name, p := range imports {
		if p == path {
			return name
		}
	}
	return ""
}

// CheckBorrowedTree runs CheckBorrowed over every non-test Go file under root,
// skipping node_modules and dot directories.
func CheckBorrowedTree(root string) (found []string, files int, err error) {
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "node_modules" || strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		files++
		for _, line := range CheckBorrowed(fset, f) {
			rel, _ := filepath.Rel(root, strings.SplitN(line, ":", 2)[0])
			found = append(found, rel+":"+strings.SplitN(line, ":", 2)[1])
		}
		return nil
	})
	return found, files, err
}
