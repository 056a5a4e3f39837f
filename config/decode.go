package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the YAML nodes one document may decode into. Aliases let
// a small file expand into a huge tree, and the limit stops that. It is a
// variable so that tests can lower it.
var maxNodes = 1_000_000

var durationType = reflect.TypeFor[time.Duration]()

// decoder copies a yaml.Node tree into a Config by reflection on the yaml
// struct tags. Unlike yaml.v3's own decoding it collects every error with
// its line and field path, rejects unknown keys with a suggestion, expands
// ${NAME} from the environment, and keeps field defaults for null values.
type decoder struct {
	file      string
	lookupEnv func(string) (string, bool)
	// lines maps each field path present in the file to its line.
	lines map[string]int
	errs  []*FieldError
	// bad holds the paths that failed to decode, so that validation does not
	// report them a second time.
	bad   map[string]bool
	nodes int
}

func newDecoder(file string, lookupEnv func(string) (string, bool)) *decoder {
	return &decoder{
		file:      file,
		lookupEnv: lookupEnv,
		lines:     map[string]int{},
		bad:       map[string]bool{},
	}
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{
		File:    d.file,
		Line:    line,
		Path:    path,
		Message: fmt.Sprintf(format, args...),
	})
	d.bad[path] = true
}

// decode stores node n into v, the field at path. Secret fields never have
// their value quoted in an error.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, secret bool) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(n.Line, path, "document expands to more than %d nodes; "+
				"remove aliases that repeat large sections", maxNodes)
		}
		return
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // null keeps the default
	}

	switch {
	case v.Type() == durationType:
		d.decodeDuration(n, v, path)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path)
	case v.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case v.Kind() == reflect.Bool:
		d.decodeBool(n, v, path, secret)
	case v.Kind() == reflect.Int:
		d.decodeInt(n, v, path, secret)
	case v.Kind() == reflect.Float64:
		d.decodeFloat(n, v, path, secret)
	default:
		// Only reachable when a field of a new type is added to Config.
		panic(fmt.Sprintf("config: field %s has unsupported type %s", path, v.Type()))
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping of keys to values, got %s", kindName(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyNode, valueNode := n.Content[i], n.Content[i+1]
		key := keyNode.Value
		childPath := joinPath(path, key)
		if keyNode.Kind != yaml.ScalarNode {
			d.errorf(keyNode.Line, path, "keys must be plain strings, got %s", kindName(keyNode))
			continue
		}
		if key == "<<" {
			d.errorf(keyNode.Line, path, "merge keys (<<) are not supported; "+
				"repeat the fields or use an alias for the whole value")
			continue
		}
		if first, dup := seen[key]; dup {
			d.errorf(keyNode.Line, childPath, "duplicate key %q, first set on line %d", key, first)
			continue
		}
		seen[key] = keyNode.Line

		if path == "" && strings.HasPrefix(key, "x-") {
			continue // extension keys hold anchors for aliases elsewhere
		}
		field, ok := fields[key]
		if !ok {
			d.errorf(keyNode.Line, childPath, "unknown field %q%s", key, suggest(key, fieldNames(fields)))
			continue
		}
		d.lines[childPath] = keyNode.Line
		secret := field.Tag.Get("secret") == "true"
		d.decode(valueNode, v.FieldByIndex(field.Index), childPath, secret)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, path, "expected a list, got %s", kindName(n))
		return
	}
	if len(n.Content) == 0 {
		v.Set(reflect.Zero(v.Type())) // nil, the same as a list left out
		return
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		d.lines[itemPath] = item.Line
		element := list.Index(i)
		elementDefaults(element.Addr().Interface())
		d.decode(item, element, itemPath, false)
	}
	v.Set(list)
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string, secret bool) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return
	}
	switch s {
	case "true", "True", "TRUE":
		v.SetBool(true)
	case "false", "False", "FALSE":
		v.SetBool(false)
	default:
		d.errorf(n.Line, path, "%s is not a boolean; use true or false", quoteValue(s, secret))
	}
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, secret bool) {
	s, ok := d.scalar(n, path, "an integer")
	if !ok {
		return
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v.OverflowInt(i) {
		d.errorf(n.Line, path, "%s is not an integer", quoteValue(s, secret))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeFloat(n *yaml.Node, v reflect.Value, path string, secret bool) {
	s, ok := d.scalar(n, path, "a number")
	if !ok {
		return
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.errorf(n.Line, path, "%s is not a number", quoteValue(s, secret))
		return
	}
	v.SetFloat(f)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil && s != "0" {
			d.errorf(n.Line, path, "duration %q has no unit; write it like \"%ss\" or \"%sms\"", s, s, s)
			return
		}
		d.errorf(n.Line, path, "%q is not a duration; write it like \"30s\", \"1m30s\" or \"500ms\"", s)
		return
	}
	v.SetInt(int64(dur))
}

// scalar returns the text of a scalar node with ${NAME} references expanded.
// expected describes the value for the error message, such as "an integer".
func (d *decoder) scalar(n *yaml.Node, path, expected string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "expected %s, got %s", expected, kindName(n))
		return "", false
	}
	s, err := expandEnv(n.Value, d.lookupEnv)
	if err != nil {
		d.errorf(n.Line, path, "%v", err)
		return "", false
	}
	return s, true
}

// quoteValue quotes a value for an error message, or hides it when the field
// is secret.
func quoteValue(s string, secret bool) string {
	if secret {
		return "the value"
	}
	return strconv.Quote(s)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "an empty document"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parentPath strips the last key or index from a field path:
// "a.b[2]" becomes "a.b", and "a.b" becomes "a".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// fieldCache maps a struct type to its structFields result.
var fieldCache sync.Map

// structFields maps yaml tag names to the exported fields of t. The result
// is shared and must not be changed.
func structFields(t reflect.Type) map[string]reflect.StructField {
	if cached, ok := fieldCache.Load(t); ok {
		return cached.(map[string]reflect.StructField)
	}
	fields := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = f
	}
	fieldCache.Store(t, fields)
	return fields
}

func fieldNames(fields map[string]reflect.StructField) []string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	return names
}
