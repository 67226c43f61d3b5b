package cybertip

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// MustReadTestdata returns a file of testdata/.
func MustReadTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustEdit replaces the only occurrence of old in doc by new. Failing when
// old is absent or repeated keeps a table case from testing a document
// other than the one it describes.
func MustEdit(tb testing.TB, doc []byte, old, new string) []byte {
	tb.Helper()
	if n := bytes.Count(doc, []byte(old)); n != 1 {
		tb.Fatalf("MustEdit: %q occurs %d times", old, n)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

// MustXmllint returns the path of xmllint, skipping the test without it.
// CI installs it; the differential tests are the proof that the validator
// and the served XSD agree.
func MustXmllint(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
			tb.Fatal("xmllint not installed (apt-get install libxml2-utils)")
		}
		tb.Skip("xmllint not installed (apt-get install libxml2-utils)")
	}
	return path
}

// MustWriteXSD writes the served XSD to a temporary file.
func MustWriteXSD(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "cybertipline.xsd")
	if err := os.WriteFile(path, XSD(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// MustXmllintValidate validates each document with libxml2 against the
// served XSD in one run of xmllint, and reports which are valid.
func MustXmllintValidate(tb testing.TB, docs [][]byte) []bool {
	tb.Helper()
	xmllint := MustXmllint(tb)
	xsd := MustWriteXSD(tb)
	dir := tb.TempDir()
	args := []string{"--noout", "--nonet", "--schema", xsd}
	for i, d := range docs {
		p := filepath.Join(dir, fmt.Sprintf("d%05d.xml", i))
		if err := os.WriteFile(p, d, 0o644); err != nil {
			tb.Fatal(err)
		}
		args = append(args, p)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(xmllint, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		tb.Fatalf("xmllint: %v", err)
	}
	out := stderr.String()
	if strings.Contains(out, "failed to compile") {
		tb.Fatalf("xmllint cannot compile the XSD:\n%s", out)
	}
	valid := map[string]bool{}
	for line := range strings.SplitSeq(out, "\n") {
		if p, ok := strings.CutSuffix(line, " validates"); ok {
			valid[p] = true
		}
	}
	res := make([]bool, len(docs))
	for i := range docs {
		res[i] = valid[filepath.Join(dir, fmt.Sprintf("d%05d.xml", i))]
	}
	return res
}

// errCode returns the guardian code of err, "" for nil, and fails the test
// for an error of another type: every failure of this package must be one
// the client can be told about.
func errCode(tb testing.TB, err error) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	var e *guardian.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v is not a *guardian.Error", err)
	}
	return e.Code
}

// validateBytes validates data like [validate] and serializes the
// canonical token stream it records with xml.Encoder, for the tests that
// compare or show canonical copies as bytes.
func validateBytes(tb testing.TB, data []byte, root *element) ([]byte, error) {
	tb.Helper()
	toks, err := validate(data, root)
	if err != nil {
		return nil, err
	}
	return mustEncodeTokens(tb, toks), nil
}

// mustEncodeTokens serializes a token stream with xml.Encoder.
func mustEncodeTokens(tb testing.TB, toks []xml.Token) []byte {
	tb.Helper()
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	for _, t := range toks {
		if err := enc.EncodeToken(t); err != nil {
			tb.Fatalf("encode canonical token %#v: %v", t, err)
		}
	}
	if err := enc.Flush(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}
