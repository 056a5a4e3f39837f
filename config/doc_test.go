package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestFieldDocsNameDefaults checks that every field of the configuration
// types has a doc comment ending with its default ("Default: ...") or saying
// that it is required. Fields that are sections (struct types) only need a
// doc comment, because their own fields carry the defaults.
func TestFieldDocsNameDefaults(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	sections := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		ast.Inspect(f, func(n ast.Node) bool {
			if spec, ok := n.(*ast.TypeSpec); ok {
				if _, ok := spec.Type.(*ast.StructType); ok {
					sections[spec.Name.Name] = true
				}
			}
			return true
		})
	}

	checked := 0
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := spec.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if field.Tag == nil || !strings.Contains(field.Tag.Value, "yaml:") {
					continue
				}
				checked++
				fieldName := spec.Name.Name + "." + field.Names[0].Name
				doc := strings.TrimSpace(field.Doc.Text())
				switch {
				case doc == "":
					t.Errorf("%s has no doc comment", fieldName)
				case isSection(field.Type, sections):
				case !strings.Contains(doc, "Default:") && !strings.Contains(strings.ToLower(doc), "required"):
					t.Errorf("%s: doc comment names neither a default nor that it is required:\n%s",
						fieldName, doc)
				case strings.Contains(doc, "Default:") && !endsWithDefault(doc):
					t.Errorf("%s: doc comment does not end with its default:\n%s", fieldName, doc)
				}
			}
			return true
		})
	}
	if checked < 50 {
		t.Errorf("checked only %d fields; did the types move?", checked)
	}
}

// isSection reports whether a field type is one of the package's structs,
// such as TLS or Voicemail, rather than a value or a list.
func isSection(expr ast.Expr, sections map[string]bool) bool {
	ident, ok := expr.(*ast.Ident)
	return ok && sections[ident.Name]
}

// endsWithDefault reports whether the last sentence of doc starts with
// "Default:".
func endsWithDefault(doc string) bool {
	doc = strings.Join(strings.Fields(doc), " ")
	rest := strings.TrimSuffix(doc[strings.LastIndex(doc, "Default:"):], ".")
	return !strings.Contains(rest, ". ")
}
