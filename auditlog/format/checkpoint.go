package format

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint): the log's origin, the size of its tree
// and the tree's root hash. The hub signs it as a C2SP signed note
// (https://c2sp.org/signed-note) with its Ed25519 key, whose name is the
// origin.
type Checkpoint struct {
	Origin   string
	TreeSize int64
	RootHash tlog.Hash
}

// Text returns the checkpoint's note text:
// "<origin>\n<tree size>\n<base64 root hash>\n".
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.TreeSize, base64.StdEncoding.EncodeToString(c.RootHash[:]))
}

// ParseCheckpoint parses a checkpoint's note text (without signatures).
// Extension lines after the root hash are allowed and ignored, as the
// specification says.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	s, ok := strings.CutSuffix(string(text), "\n")
	if !ok {
		return Checkpoint{}, errors.New("checkpoint: no final newline")
	}
	lines := strings.Split(s, "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("checkpoint: %d lines, want at least 3", len(lines))
	}
	origin, size, root := lines[0], lines[1], lines[2]
	if origin == "" {
		return Checkpoint{}, errors.New("checkpoint: empty origin")
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return Checkpoint{}, fmt.Errorf("checkpoint: bad tree size %q", size)
	}
	h, err := base64.StdEncoding.Strict().DecodeString(root)
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint: bad root hash %q", root)
	}
	for _, l := range lines[3:] {
		if l == "" {
			return Checkpoint{}, errors.New("checkpoint: empty extension line")
		}
	}
	c := Checkpoint{Origin: origin, TreeSize: n}
	copy(c.RootHash[:], h)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint with the verifier key
// ("<name>+<key hash>+<base64 key>", as
// [github.com/guardian-network/guardian/auditlog.LoadOrCreateSigningKey]
// returns it) and returns its body. The key's name must be the
// checkpoint's origin.
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint of origin %q, signed by key %q", c.Origin, v.Name())
	}
	return c, nil
}
