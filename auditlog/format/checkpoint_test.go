package format_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian/auditlog/format"
)

const origin = "hub.example.org/audit"

func TestCheckpointText(t *testing.T) {
	c := format.Checkpoint{Origin: origin, TreeSize: 1234, RootHash: tlog.Hash{1, 2, 3}}
	text := c.Text()
	want := "hub.example.org/audit\n1234\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	if string(text) != want {
		t.Fatalf("Text() = %q, want %q", text, want)
	}
	got, err := format.ParseCheckpoint(text)
	if err != nil || got != c {
		t.Errorf("ParseCheckpoint = %+v, %v", got, err)
	}
	// Extension lines are allowed.
	if got, err := format.ParseCheckpoint([]byte(want + "timestamp 1\n")); err != nil || got != c {
		t.Errorf("with an extension line: %+v, %v", got, err)
	}
	for _, bad := range []string{
		"", want[:len(want)-1], "hub\n1234\n", "\n1234\nAQID\n", "hub\n01234\n" + strings.Split(want, "\n")[2] + "\n",
		"hub\n-1\n" + strings.Split(want, "\n")[2] + "\n", "hub\n1\nAQID\n", "hub\nx\n" + strings.Split(want, "\n")[2] + "\n",
		want + "\n",
	} {
		if _, err := format.ParseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("ParseCheckpoint(%q) succeeded", bad)
		}
	}
}

func TestOpenCheckpoint(t *testing.T) {
	signer, vkey := mustKey(t, origin)
	c := format.Checkpoint{Origin: origin, TreeSize: 5, RootHash: tlog.Hash{9}}
	signed, err := note.Sign(&note.Note{Text: string(c.Text())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := format.OpenCheckpoint(signed, vkey); err != nil || got != c {
		t.Errorf("OpenCheckpoint = %+v, %v", got, err)
	}
	_, otherKey := mustKey(t, origin)
	if _, err := format.OpenCheckpoint(signed, otherKey); err == nil {
		t.Error("opened with another key")
	}
	forged := bytes.Replace(signed, []byte("\n5\n"), []byte("\n6\n"), 1)
	if _, err := format.OpenCheckpoint(forged, vkey); err == nil {
		t.Error("opened a changed checkpoint")
	}
	// A key of another name does not sign this origin's checkpoints.
	elsewhere, elsewhereKey := mustKey(t, "elsewhere.example/audit")
	signed, _ = note.Sign(&note.Note{Text: string(c.Text())}, elsewhere)
	if _, err := format.OpenCheckpoint(signed, elsewhereKey); err == nil {
		t.Error("opened a checkpoint signed by a key named for another origin")
	}
}

// mustKey returns a new signer named origin and its verifier key. It
// generates the key itself rather than through package auditlog, so that
// the formats are tested without the integrator.
func mustKey(t *testing.T, origin string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}
