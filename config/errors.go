package config

import (
	"sort"
	"strconv"
	"strings"
)

// FieldError is one problem found in a configuration, located by file, line
// and field path. Load and Parse return errors as an ErrorList of FieldErrors,
// and Config.Warnings returns warnings in the same form.
type FieldError struct {
	// File is the name given to Parse or the path given to Load. It is empty
	// for a Config built in code, such as Default.
	File string
	// Line is the 1-based line in File, or 0 when the problem has no place
	// in a file.
	Line int
	// Path is the field path, such as "accounts[0].toll_free[1].number".
	// It is empty for problems with the whole document.
	Path string
	// Message describes the problem. It never contains a secret value.
	Message string
}

// Error formats the problem as "file:line: path: message", leaving out the
// parts that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList is every error found in one configuration, in file order. Its
// Error method puts one error on each line; callers that print errors one by
// one range over the list.
type ErrorList []*FieldError

// Error joins the errors with newlines.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors so that errors.As finds a *FieldError.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortByLine orders problems by line and keeps the discovery order within a
// line. Problems without a line go last.
func sortByLine(list []*FieldError) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Line, list[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}
