package hashlist

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
)

// MaxVICSValue bounds a VICS file's single JSON values: a Media entry, or
// any string. A larger one refuses the file rather than being held in
// memory.
const MaxVICSValue = 1 << 20

// vicsMedia is the part of a VICS Media entry the hub keeps.
type vicsMedia struct {
	MD5      string          `json:"MD5"`
	SHA1     string          `json:"SHA1"`
	Category json.RawMessage `json:"Category"`
}

// ParseVICS reads Project VIC's VICS JSON: every array named "Media", at
// any depth (in VICS 1.x, value[].Media[]), is a list of media entries,
// each giving its MD5 and SHA-1 (either may be absent, not both) and its
// category, a number or a string. The rest of the document is read past.
//
// The input is read as a stream. Bad entries refuse the whole file with a
// [*ParseError] naming the line each starts on; a file with no media is
// [ErrEmpty], and one that is not JSON an error.
func ParseVICS(r io.Reader) ([]guardian.HashListEntry, error) {
	lr := &lineReader{r: bufio.NewReader(r)}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	p := vicsParser{dec: dec, lr: lr}
	if err := p.value(false); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("hashlist: vics: line %d: data after the document", lr.line(dec.InputOffset()))
	}
	if err := p.c.err(); err != nil {
		return nil, err
	}
	if len(p.entries) == 0 {
		return nil, ErrEmpty
	}
	return p.entries, nil
}

type vicsParser struct {
	dec     *json.Decoder
	lr      *lineReader
	c       collector
	entries []guardian.HashListEntry
}

func (p *vicsParser) syntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("hashlist: vics: line %d: %v", p.lr.line(se.Offset), err)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("hashlist: vics: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("hashlist: vics: %w", err)
}

// value reads one JSON value; media says it is the array of a "Media" key.
func (p *vicsParser) value(media bool) error {
	tok, err := p.dec.Token()
	if err != nil {
		return p.syntax(err)
	}
	if s, ok := tok.(string); ok && len(s) > MaxVICSValue {
		return fmt.Errorf("hashlist: vics: line %d: a string longer than %d bytes", p.lr.line(p.dec.InputOffset()), MaxVICSValue)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		for p.dec.More() {
			tok, err := p.dec.Token()
			if err != nil {
				return p.syntax(err)
			}
			key, _ := tok.(string)
			if err := p.value(key == "Media"); err != nil {
				return err
			}
		}
	case '[':
		for p.dec.More() {
			if media {
				if err := p.media(); err != nil {
					return err
				}
			} else if err := p.value(false); err != nil {
				return err
			}
		}
	}
	if _, err := p.dec.Token(); err != nil { // the closing delimiter
		return p.syntax(err)
	}
	return nil
}

// media reads one Media entry.
func (p *vicsParser) media() error {
	// The entry starts after the whitespace following the last token.
	line := p.lr.line(p.dec.InputOffset()) + p.lr.leadingNewlines(p.dec)
	before := p.dec.InputOffset()
	var raw json.RawMessage
	if err := p.dec.Decode(&raw); err != nil {
		return p.syntax(err)
	}
	if p.dec.InputOffset()-before > MaxVICSValue {
		return fmt.Errorf("hashlist: vics: line %d: a Media entry longer than %d bytes", line, MaxVICSValue)
	}
	var m vicsMedia
	if err := json.Unmarshal(raw, &m); err != nil {
		p.c.add(line, "Media entry: %v", err)
		return nil
	}
	category, err := vicsCategory(m.Category)
	if err != nil {
		p.c.add(line, "%v", err)
		return nil
	}
	if strings.TrimSpace(m.MD5) == "" && strings.TrimSpace(m.SHA1) == "" {
		p.c.add(line, "Media entry has neither MD5 nor SHA1")
		return nil
	}
	var add []guardian.HashListEntry
	for _, f := range []struct {
		t guardian.HashType
		v string
	}{{guardian.HashMD5, m.MD5}, {guardian.HashSHA1, m.SHA1}} {
		if strings.TrimSpace(f.v) == "" {
			continue
		}
		h, err := NormaliseHash(f.t, f.v)
		if err != nil {
			p.c.add(line, "%v", err)
			return nil
		}
		add = append(add, guardian.HashListEntry{Type: f.t, Hash: h, Category: category})
	}
	p.entries = append(p.entries, add...)
	return nil
}

// vicsCategory reads a Media entry's category: a number, a string, or
// absent (the empty category).
func vicsCategory(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			return "", fmt.Errorf("the Category %s is not a whole number", trunc(string(n)))
		}
		return string(n), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("the Category is %s, not a number or a string", trunc(string(raw)))
	}
	return strings.TrimSpace(s), nil
}

// lineReader counts the lines of what it has read, keeping the offsets of
// the newlines the decoder has read but not yet asked about: the decoder
// asks in increasing order and reads ahead only a buffer's worth, so the
// queue stays short however long the file.
type lineReader struct {
	r        io.Reader
	read     int64   // bytes read so far
	newlines []int64 // offsets of newlines not yet counted
	counted  int     // newlines before the last offset asked about
}

func (l *lineReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.newlines = append(l.newlines, l.read+int64(i))
		}
	}
	l.read += int64(n)
	return n, err
}

// line returns the 1-based line of the byte at offset, which must not be
// less than an offset asked about before.
func (l *lineReader) line(offset int64) int {
	i := 0
	for i < len(l.newlines) && l.newlines[i] < offset {
		i++
	}
	l.counted += i
	l.newlines = l.newlines[i:]
	return l.counted + 1
}

// leadingNewlines counts the newlines in the whitespace the decoder has
// buffered before its next value.
func (l *lineReader) leadingNewlines(dec *json.Decoder) int {
	br := dec.Buffered()
	n := 0
	buf := make([]byte, 1)
	for {
		if _, err := br.Read(buf); err != nil {
			return n
		}
		switch buf[0] {
		case '\n':
			n++
		case ' ', '\t', '\r', ',':
		default:
			return n
		}
	}
}
