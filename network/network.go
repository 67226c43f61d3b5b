// Package network reads the network file: the YAML file that describes the
// hub, the agencies it refers reports to and the agreements with them, and
// turns it into a [guardian.Network].
//
// Most callers need [Load] at start-up and a [Reloader] to re-read the file
// on SIGHUP or on an administrator's request; [Parse] is Load for bytes that
// are already in memory, and [Marshal] writes a network back as YAML.
// docs/routing.md is the reference of the file's keys.
//
// # Errors
//
// The file is validated whole before anything is used: a file with any
// problem is refused, and a running hub keeps the network it has. Every
// problem is reported, not only the first, as an [*Error] that names the file,
// line and column and says what is wrong:
//
//	network.yaml:42:14: country "UK" is not an ISO 3166-1 alpha-2 code (the United Kingdom is GB)
//
// Parse and Load return them together as an [ErrorList].
//
// The file is strict: unknown keys, duplicate keys, a value of the wrong
// shape and a missing required key are all errors, so that a typo cannot
// silently leave an agreement without its terms. YAML anchors and aliases
// may be used to share a value (a data scope, a set of deadlines); merge keys
// ("<<") may not, because they would let one agreement inherit terms that
// nobody reading it sees.
package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/guardian-network/guardian"
)

// MaxFileSize bounds a network file. The demo network, with 19 agencies, is
// under 20 KiB; a file thousands of times that size is a mistake.
const MaxFileSize = 4 << 20

// Error is one problem in a network file.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem concerns the whole file
	Column int // 1-based; 0 when unknown
	Msg    string
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// ErrorList is every problem found in a network file, in file order.
type ErrorList []*Error

// errorListShown is how many problems ErrorList.Error spells out.
const errorListShown = 10

// Error returns the problems one per line, at most ten of them.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == errorListShown {
			fmt.Fprintf(&b, "\n(and %d more problems)", len(l)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Load reads, parses and validates the network file at path. A file that
// cannot be read gives an error wrapping the [os.PathError]; a file with
// problems gives an [ErrorList].
func Load(path string) (*guardian.Network, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open network file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read network file: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a network file's contents. name is the file
// name that errors carry. The error, if any, is an [ErrorList].
func Parse(name string, data []byte) (*guardian.Network, error) {
	if len(data) > MaxFileSize {
		return nil, ErrorList{{File: name, Msg: fmt.Sprintf("the file is larger than %d bytes", MaxFileSize)}}
	}
	p := &parser{file: name}
	n := p.parse(data)
	if len(p.errs) > 0 {
		p.sortErrors()
		return nil, p.errs
	}
	sum := sha256.Sum256(data)
	n.Digest = hex.EncodeToString(sum[:])
	return n, nil
}

// errTooComplex aborts a walk whose aliases make it visit more nodes than
// any sensible network file has.
var errTooComplex = errors.New("the file is too complex: its aliases expand to more than a million values")
