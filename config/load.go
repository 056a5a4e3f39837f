package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileBytes limits configuration files to 4 MiB, far above any real
// configuration, so a wrong path (a log, a disk image) fails fast.
const maxFileBytes = 4 << 20

// Load reads and parses the configuration file at path. See Parse.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ErrorList{{File: path, Message: fileErrorMessage(err)}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, ErrorList{{File: path, Message: fmt.Sprintf("read failed: %v", err)}}
	}
	if len(data) > maxFileBytes {
		return nil, ErrorList{{File: path, Message: "file is larger than 4 MiB; is this the configuration file?"}}
	}
	return Parse(data, path)
}

// Parse decodes one YAML document into a Config over the defaults and
// validates it. name is used in error messages, usually the file path.
//
// Each ${NAME} in a value is replaced by the environment variable NAME
// before the value is read, and an unset variable is an error. Unknown keys
// are errors. On failure Parse returns a nil Config and an ErrorList with
// every problem found, each naming the file, line and field path, in line
// order. Warnings of a valid configuration are in Config.Warnings.
//
// Parse has no side effects. It reads the environment, reads greeting files
// and checks that certificate files exist, but writes nothing and keeps no
// state, so a daemon reloads by parsing again.
func Parse(data []byte, name string) (*Config, error) {
	return parse(data, name, os.LookupEnv)
}

func parse(data []byte, name string, lookupEnv func(string) (string, bool)) (*Config, error) {
	root, perr := parseYAML(data, name)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	c := newDefaults()
	d := newDecoder(name, lookupEnv)
	if root != nil {
		if root.Kind != yaml.MappingNode {
			d.errorf(root.Line, "", "the document must be a mapping of keys to values, got %s", kindName(root))
		} else {
			d.decode(root, reflect.ValueOf(c).Elem(), "", false)
		}
	}
	if d.nodes > maxNodes {
		// The partly decoded tree is not worth validating.
		return nil, ErrorList(d.errs)
	}
	fillDerived(c)
	c.file = name
	c.lines = d.lines

	warnings, problems := validate(c)
	all := d.errs
	for _, p := range problems {
		if !d.coversPath(p.Path) {
			all = append(all, c.locate(p))
		}
	}
	if len(all) > 0 {
		sortByLine(all)
		return nil, ErrorList(all)
	}
	c.warnings = c.locateAll(warnings)
	return c, nil
}

// Validate checks a Config built or changed in code, such as Default, the
// same way Parse checks a file. It returns an ErrorList or nil, and updates
// Warnings.
func (c *Config) Validate() error {
	warnings, problems := validate(c)
	c.warnings = c.locateAll(warnings)
	if len(problems) > 0 {
		return ErrorList(c.locateAll(problems))
	}
	return nil
}

// coversPath reports whether a decode error already covers path: the same
// field, or a field inside it.
func (d *decoder) coversPath(path string) bool {
	for p := path; p != ""; p = parentPath(p) {
		if d.bad[p] {
			return true
		}
	}
	return false
}

// locate fills in the file and line of a problem from its field path. A
// field missing from the file gets the line of its nearest enclosing field.
func (c *Config) locate(p *FieldError) *FieldError {
	p.File = c.file
	for path := p.Path; path != ""; path = parentPath(path) {
		if line, ok := c.lines[path]; ok {
			p.Line = line
			break
		}
	}
	return p
}

func (c *Config) locateAll(list []*FieldError) []*FieldError {
	for _, p := range list {
		c.locate(p)
	}
	sortByLine(list)
	return list
}

// inFile reports whether the field at path was written in the file.
func (c *Config) inFile(path string) bool {
	_, ok := c.lines[path]
	return ok
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses data into the root node of its only document. It returns
// a nil node for an empty document.
func parseYAML(data []byte, name string) (root *yaml.Node, perr *FieldError) {
	defer func() {
		// yaml.v3 is third-party code fed operator input, and a bug in it
		// must not crash the daemon or config check.
		if r := recover(); r != nil {
			root, perr = nil, &FieldError{File: name, Message: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(name, data, err)
		}
		return nil, &FieldError{File: name, Line: extra.Line,
			Message: "a second YAML document starts here; the file must contain one document"}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func yamlError(name string, data []byte, err error) *FieldError {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		text := "invalid YAML: " + m[2]
		switch {
		case strings.HasPrefix(m[2], "did not find expected"):
			// yaml.v3 reports these at the start of the enclosing block,
			// not at the offending line.
			text += " (inside the block that starts on this line)"
		case lineStartsWithTab(data, line):
			text += " (indent with spaces; YAML does not allow tabs)"
		}
		return &FieldError{File: name, Line: line, Message: text}
	}
	return &FieldError{File: name, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// lineStartsWithTab reports whether the 1-based line of data has a tab in
// its indentation.
func lineStartsWithTab(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return false
	}
	indent := len(lines[line-1]) - len(bytes.TrimLeft(lines[line-1], " \t"))
	return bytes.ContainsRune(lines[line-1][:indent], '\t')
}

func fileErrorMessage(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "file not found"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	return err.Error()
}
