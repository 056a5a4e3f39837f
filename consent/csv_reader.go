package consent

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxCSVRecord bounds one imported CSV record in bytes, line break
// included. A valid row needs well under 1 KB: a number of at most 40
// characters, a state, an RFC 3339 time and a note of at most 200 bytes
// (400 with every character a doubled quote). The bound keeps one broken
// line from filling memory.
const maxCSVRecord = 4096

// readCSV calls row for every data row with between minFields and
// maxFields fields, trimmed of surrounding spaces, and lineErr for every
// malformed row: a CSV syntax error, a record longer than maxCSVRecord, a
// field that is not valid UTF-8 or a wrong field count. Line numbers count
// from 1 and name the first line of a record whose quoted field holds a
// line break. A first row whose first field is "number" (any case) is a
// header and skipped. Blank lines are skipped, and so is a UTF-8 byte
// order mark at the start. A UTF-16 file is rejected as a whole. readCSV
// stops at the first error row returns.
func readCSV(r io.Reader, minFields, maxFields int, row func(line int, fields []string) error,
	lineErr func(line int, err error)) error {
	br := bufio.NewReader(r)
	if err := skipByteOrderMark(br); err != nil {
		return err
	}
	rd := csvRecordReader{br: br}
	first := true
	for {
		rec, line, err := rd.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		if rec == nil {
			lineErr(line, rd.tooLongError(line))
			first = false
			continue
		}
		fields, err := parseCSVRecord(rec)
		switch {
		case err != nil:
			lineErr(line, err)
			first = false
			continue
		case fields == nil:
			continue
		case first && strings.EqualFold(fields[0], "number"):
			first = false
			continue
		}
		first = false
		if len(fields) < minFields || len(fields) > maxFields {
			lineErr(line, fmt.Errorf("%d fields, want %d to %d", len(fields), minFields, maxFields))
			continue
		}
		if err := row(line, fields); err != nil {
			return err
		}
	}
}

// ErrUTF16CSV rejects an import file that starts with a UTF-16 byte order
// mark. Imports read UTF-8 only.
var ErrUTF16CSV = errors.New("read CSV: the file is UTF-16 text; save it as UTF-8 CSV")

// skipByteOrderMark drops a UTF-8 byte order mark, which spreadsheet
// programs write at the start of CSV files, and rejects UTF-16 input.
func skipByteOrderMark(br *bufio.Reader) error {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xef, 0xbb, 0xbf}) {
		_, err := br.Discard(3)
		return err
	}
	if b, _ := br.Peek(2); bytes.Equal(b, []byte{0xff, 0xfe}) || bytes.Equal(b, []byte{0xfe, 0xff}) {
		return ErrUTF16CSV
	}
	return nil
}

// parseCSVRecord returns the trimmed fields of one record, or nil for a
// blank line.
func parseCSVRecord(rec []byte) ([]string, error) {
	cr := csv.NewReader(bytes.NewReader(rec))
	cr.FieldsPerRecord = -1
	fields, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return nil, fmt.Errorf("malformed CSV: %w", parseErr.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("malformed CSV: %w", err)
	}
	if _, err := cr.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed CSV: a quoted field does not end where it should")
	}
	for i := range fields {
		if !utf8.ValidString(fields[i]) {
			return nil, fmt.Errorf("field %d is not valid UTF-8 text", i+1)
		}
		fields[i] = strings.TrimSpace(fields[i])
	}
	if len(fields) == 1 && fields[0] == "" {
		return nil, nil
	}
	return fields, nil
}

// csvRecordReader splits CSV input into records without parsing them, so
// that each record is parsed alone and its errors stay on its line. A
// record ends at a line break outside quotes. Quotes are tracked as
// RFC 4180 and encoding/csv read them: a field is quoted when it starts
// with a quote, and a doubled quote inside it stands for one quote.
type csvRecordReader struct {
	br   *bufio.Reader
	line int // physical lines read
	buf  []byte
	// Quote state of the record being read.
	inQuotes, quotePending, fieldStart bool
}

// next returns the next record and the line it starts on. The record is
// nil when it is longer than maxCSVRecord: next then skips to the end of
// the physical line where the limit was passed. At the end of the input
// next returns io.EOF.
func (r *csvRecordReader) next() ([]byte, int, error) {
	r.buf = r.buf[:0]
	r.inQuotes, r.quotePending, r.fieldStart = false, false, true
	start := r.line + 1
	tooLong, read := false, false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(chunk) > 0 {
			read = true
			if !tooLong && len(r.buf)+len(chunk) > maxCSVRecord {
				tooLong = true
			}
			if !tooLong {
				r.buf = append(r.buf, chunk...)
				r.scanQuotes(chunk)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, start, err
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			r.line++
			if tooLong || !r.inQuotes {
				return r.result(tooLong), start, nil
			}
			continue
		}
		// End of input: the last line has no line break.
		if !read {
			return nil, start, io.EOF
		}
		r.line++
		return r.result(tooLong), start, nil
	}
}

// tooLongError describes the record that next returned as nil, which
// started on line start.
func (r *csvRecordReader) tooLongError(start int) error {
	if r.line > start {
		return fmt.Errorf("record on lines %d-%d is longer than %d bytes: a quoted field is probably not closed",
			start, r.line, maxCSVRecord)
	}
	return fmt.Errorf("line is longer than %d bytes", maxCSVRecord)
}

func (r *csvRecordReader) result(tooLong bool) []byte {
	if tooLong {
		return nil
	}
	if r.buf == nil {
		return []byte{}
	}
	return r.buf
}

// scanQuotes advances the quote state over b.
func (r *csvRecordReader) scanQuotes(b []byte) {
	for _, c := range b {
		if r.inQuotes {
			if r.quotePending {
				r.quotePending = false
				if c == '"' {
					continue // a doubled quote inside a quoted field
				}
				r.inQuotes = false // the quote closed the field
			} else {
				r.quotePending = c == '"'
				continue
			}
		}
		if r.fieldStart && c == '"' {
			r.inQuotes, r.fieldStart = true, false
			continue
		}
		r.fieldStart = c == ',' || c == '\n'
	}
}
