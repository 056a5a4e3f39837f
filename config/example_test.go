package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const exampleFile = "../deploy/optgate.example.yaml"

// exampleEnv lists the variables the example file reads.
var exampleEnv = []string{
	"OPTGATE_SENTINEL_PASSWORD", "OPTGATE_REDIS_PASSWORD", "OPTGATE_BLOOM_WEBHOOK_SECRET",
	"OPTGATE_CARRIER_A_PASSWORD", "OPTGATE_CARRIER_B_PASSWORD",
}

// setExampleEnv sets each variable to "x" and the last four letters of its
// name in lowercase, such as "xword".
func setExampleEnv(tb testing.TB) {
	tb.Helper()
	for _, name := range exampleEnv {
		tb.Setenv(name, "x"+strings.ToLower(name[len(name)-4:]))
	}
}

func TestExampleFileLoads(t *testing.T) {
	setExampleEnv(t)
	c, err := Load(exampleFile)
	if err != nil {
		t.Fatalf("the example configuration has errors:\n%v", err)
	}
	// Only files that exist on a deployed host may be missing here.
	for _, w := range c.Warnings() {
		if !strings.Contains(w.Message, "not found") {
			t.Errorf("unexpected warning: %v", w)
		}
	}
	if len(c.Accounts) != 3 || len(c.Carriers) != 2 {
		t.Errorf("got %d accounts and %d carriers, want 3 and 2", len(c.Accounts), len(c.Carriers))
	}
	if got := c.Carriers[0].Password; got != "xword" {
		t.Errorf("carrier password from the environment: got %q", got)
	}
}

// exampleExempt lists fields the example shows only in a comment, because
// they cannot be combined with the values it sets.
var exampleExempt = map[string]string{
	"store.redis.url":     "alternative to the topology fields",
	"operator":            "alternative to OPTGATE_OPERATOR_TOKEN of the systemd env example",
	"operator.token_hash": "alternative to OPTGATE_OPERATOR_TOKEN of the systemd env example",
}

// TestExampleFileSetsEveryField walks the Config type and checks that the
// example file sets each field at least once, so that the example grows with
// the configuration.
func TestExampleFileSetsEveryField(t *testing.T) {
	setExampleEnv(t)
	c, err := Load(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	index := regexp.MustCompile(`\[\d+\]`)
	present := map[string]bool{}
	for path := range c.lines {
		present[index.ReplaceAllString(path, "[]")] = true
	}
	var missing []string
	for _, path := range typePaths(reflect.TypeFor[Config](), "") {
		if !present[path] && exampleExempt[path] == "" {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the example file does not set:\n  %s", strings.Join(missing, "\n  "))
	}
}

// typePaths lists the field paths of a struct type, with [] for list
// elements, such as "accounts[].toll_free[].number".
func typePaths(t reflect.Type, prefix string) []string {
	var paths []string
	for name, f := range structFields(t) {
		path := joinPath(prefix, name)
		paths = append(paths, path)
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			paths = append(paths, typePaths(ft.Elem(), path+"[]")...)
		} else if ft.Kind() == reflect.Struct && ft != durationType {
			paths = append(paths, typePaths(ft, path)...)
		}
	}
	return paths
}

// TestDecoderSupportsEveryFieldType makes sure no field of Config has a type
// that decode does not handle, which would panic on the first file that
// sets it.
func TestDecoderSupportsEveryFieldType(t *testing.T) {
	var check func(reflect.Type, string)
	check = func(t2 reflect.Type, path string) {
		for name, f := range structFields(t2) {
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			switch {
			case ft == durationType:
			case ft.Kind() == reflect.Struct:
				check(ft, joinPath(path, name))
			case ft.Kind() == reflect.String, ft.Kind() == reflect.Bool,
				ft.Kind() == reflect.Int, ft.Kind() == reflect.Float64:
			default:
				t.Errorf("%s has type %s, which the decoder does not support", joinPath(path, name), f.Type)
			}
		}
	}
	check(reflect.TypeFor[Config](), "")
}

func ExampleParse() {
	_, err := Parse([]byte(`
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - number: "+1555"
    esme:
      - system_id: acme01
        pasword_hash: $2a$10$Po9C.dIEP.RsQfRJvKqeIOK.wZWQjQqF8z2AwF4s8pFrQG3Q2FqdW
`), "optgate.yaml")
	if list, ok := err.(ErrorList); ok {
		for _, e := range list {
			fmt.Println(e)
		}
	}
	// Output:
	// optgate.yaml:6: accounts[0].toll_free[0].number: "+1555" is not a valid E.164 number
	// optgate.yaml:8: accounts[0].esme[0].password_hash: is required; make one with `optgate hash-password`
	// optgate.yaml:9: accounts[0].esme[0].pasword_hash: unknown field "pasword_hash"; did you mean "password_hash"?
}

func ExampleDefault() {
	c := Default()
	a := c.Accounts[0]
	fmt.Println(a.ID, a.TollFree[0].Number, a.ESMEs[0].SystemID, c.Carriers[0].Address)
	// Output: demo +18005550100 demo 127.0.0.1:2776
}

// BenchmarkParseExample measures a full parse and validation of the example
// file, the cost of a configuration reload.
func BenchmarkParseExample(b *testing.B) {
	setExampleEnv(b)
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, exampleFile); err != nil {
			b.Fatal(err)
		}
	}
}
