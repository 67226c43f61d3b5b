package hashlist

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/guardian-network/guardian"
)

// ParseCSV reads a list of type,hash,category rows. A first row of
// type,hash,category (in any case) is a header and skipped; so are empty
// lines and lines starting with #. Fields may be quoted as in RFC 4180,
// but a row is one line. The category may be empty.
//
// Lines longer than [MaxLineLength] are refused. Any bad row refuses the
// whole list with a [*ParseError]; a list with no rows is [ErrEmpty].
// Errors reading r are returned as they are.
func ParseCSV(r io.Reader) ([]guardian.HashListEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), MaxLineLength+2) // room for \r\n
	var c collector
	var entries []guardian.HashListEntry
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a byte order mark
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if len(text) > MaxLineLength {
			c.add(line, "longer than %d bytes", MaxLineLength)
			continue
		}
		fields, err := splitCSV(text)
		if err != nil {
			c.add(line, "%v", err)
			continue
		}
		if len(entries) == 0 && len(c.pe.Errors) == 0 && isHeader(fields) {
			continue
		}
		if len(fields) != 3 {
			c.add(line, "%d fields, want 3 (type,hash,category)", len(fields))
			continue
		}
		t, ok := ParseType(fields[0])
		if !ok {
			c.add(line, "unknown hash type %q (md5, sha1, sha256 or pdq)", trunc(fields[0]))
			continue
		}
		h, err := NormaliseHash(t, fields[1])
		if err != nil {
			c.add(line, "%v", err)
			continue
		}
		entries = append(entries, guardian.HashListEntry{Type: t, Hash: h, Category: strings.TrimSpace(fields[2])})
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		c.add(line+1, "longer than %d bytes", MaxLineLength)
	} else if err != nil {
		return nil, fmt.Errorf("hashlist: reading csv: %w", err)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, ErrEmpty
	}
	return entries, nil
}

// splitCSV splits one line into its fields.
func splitCSV(line string) ([]string, error) {
	if !strings.Contains(line, `"`) {
		return strings.Split(line, ","), nil
	}
	cr := csv.NewReader(strings.NewReader(line))
	cr.FieldsPerRecord = -1
	fields, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("bad quoting: %v", pe.Err)
		}
		return nil, fmt.Errorf("bad quoting: %v", err)
	}
	return fields, nil
}

// isHeader reports whether fields are the header type,hash,category.
func isHeader(fields []string) bool {
	return len(fields) == 3 && strings.EqualFold(strings.TrimSpace(fields[0]), "type") &&
		strings.EqualFold(strings.TrimSpace(fields[1]), "hash")
}
