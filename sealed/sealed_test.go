package sealed_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sealed"
)

// content is one file of a test package with what it holds.
type content struct {
	id, name string
	data     []byte
}

func (c content) file() sealed.File {
	return sealed.File{ID: c.id, Name: c.name, Size: int64(len(c.data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(c.data)), nil }}
}

// MustGradientPNG returns a generated PNG: a colour gradient, benign.
func MustGradientPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(255 * x / w), G: uint8(255 * y / h), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// MustRandom returns n random bytes.
func MustRandom(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// testContents are the files of the test package: random bytes across
// several age chunks (64 KiB each), a PNG, an empty file, and names a
// hostile service might send.
func testContents(tb testing.TB) []content {
	return []content{
		{"f1", "random.bin", MustRandom(tb, 200_000)},
		{"f2", "gradient.png", MustGradientPNG(tb, 64, 48)},
		{"f3", "../../../etc/cron.d/evil", []byte("synthetic text, not a cron job\n")},
		{"f4", "empty", nil},
		{"f5", "Фото пляж\u202Egnp.exe", MustRandom(tb, 1000)},
	}
}

// wantArchived are the archived names of testContents.
var wantArchived = []string{
	"files/001-random.bin",
	"files/002-gradient.png",
	"files/003-etc_cron.d_evil",
	"files/004-empty",
	"files/005-Фото пляжgnp.exe",
}

const testReferral = `{"id":42,"reportId":7,"agencyId":"py-police","priority":"1","countries":["PY"]}`

func mustPackage(tb testing.TB, cs []content) *sealed.Package {
	tb.Helper()
	p := &sealed.Package{Referral: json.RawMessage(testReferral)}
	for _, c := range cs {
		p.Files = append(p.Files, c.file())
	}
	return p
}

// MustWrite writes a package to recipients and returns its bytes.
func MustWrite(tb testing.TB, recipients []string, p *sealed.Package) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := sealed.Write(&buf, recipients, p); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// MustAge returns the path of the age command-line tool, skipping the test
// without it unless GUARDIAN_TEST_REQUIRE_ALL is set (as in CI).
func MustAge(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
			tb.Fatal("age not installed (apt-get install age)")
		}
		tb.Skip("age not installed (apt-get install age)")
	}
	if _, err := exec.LookPath("tar"); err != nil {
		tb.Fatal("tar not installed")
	}
	return path
}

// ageVersion returns the major and minor version of the age tool.
func ageVersion(tb testing.TB, ageBin string) (int, int) {
	tb.Helper()
	out, err := exec.Command(ageBin, "--version").Output()
	if err != nil {
		tb.Fatalf("age --version: %v", err)
	}
	m := regexp.MustCompile(`(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		tb.Fatalf("age --version: cannot read %q", out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major, minor
}

// mustKeyFile writes an identity file as age-keygen would.
func mustKeyFile(tb testing.TB, id fmt.Stringer) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "key.txt")
	if err := os.WriteFile(path, []byte("# test identity\n"+id.String()+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// openWithCLI runs exactly what a partner runs, `age -d -i KEY PKG | tar
// x`, in a fresh directory, and returns the directory.
func openWithCLI(tb testing.TB, ageBin, keyFile string, pkg []byte) (string, error) {
	tb.Helper()
	work := tb.TempDir()
	pkgFile := filepath.Join(work, "referral.age")
	if err := os.WriteFile(pkgFile, pkg, 0o600); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("bash", "-o", "pipefail", "-c", `"$1" -d -i "$2" "$3" | tar x`, "open", ageBin, keyFile, pkgFile)
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		return out, fmt.Errorf("%v: %s", err, b)
	}
	return out, nil
}

// readTree returns every regular file under dir by its slash path, and
// fails on anything else but directories.
func readTree(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			tb.Errorf("%s: not a regular file (%v)", rel, d.Type())
			return nil
		}
		b, err := os.ReadFile(path)
		got[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkContents checks an extracted package (member name → bytes)
// against what was written: the referral, each file, and a manifest whose
// digests and sizes match.
func checkContents(t *testing.T, got map[string][]byte, cs []content) {
	t.Helper()
	want := map[string][]byte{}
	for i, c := range cs {
		want[wantArchived[i]] = c.data
	}
	var m sealed.Manifest
	if err := json.Unmarshal(got[sealed.ManifestName], &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var ref map[string]any
	if err := json.Unmarshal(got[sealed.ReferralName], &ref); err != nil {
		t.Fatalf("referral.json: %v", err)
	}
	if ref["agencyId"] != "py-police" {
		t.Errorf("referral.json = %s", got[sealed.ReferralName])
	}
	if m.Format != sealed.Format || m.Created.IsZero() {
		t.Errorf("manifest format %q created %v", m.Format, m.Created)
	}
	if m.Referral.ArchivedName != sealed.ReferralName || m.Referral.SHA256 != sum(got[sealed.ReferralName]) ||
		m.Referral.Size != int64(len(got[sealed.ReferralName])) {
		t.Errorf("manifest referral entry %+v does not match referral.json", m.Referral)
	}
	if len(m.Files) != len(cs) {
		t.Fatalf("manifest lists %d files, want %d", len(m.Files), len(cs))
	}
	for i, c := range cs {
		f := m.Files[i]
		wantEntry := sealed.ManifestFile{ID: c.id, Name: c.name, ManifestEntry: sealed.ManifestEntry{
			ArchivedName: wantArchived[i], Size: int64(len(c.data)), SHA256: sum(c.data)}}
		if diff := cmp.Diff(wantEntry, f); diff != "" {
			t.Errorf("manifest file %d (-want +got):\n%s", i, diff)
		}
		b, ok := got[f.ArchivedName]
		if !ok {
			t.Errorf("%s missing from the archive", f.ArchivedName)
			continue
		}
		if sum(b) != f.SHA256 {
			t.Errorf("%s: digest %s, manifest says %s", f.ArchivedName, sum(b), f.SHA256)
		}
	}
	members := map[string]bool{sealed.ReferralName: true, sealed.ManifestName: true}
	for name := range want {
		members[name] = true
		if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s: %d bytes differ from the %d written", name, len(got[name]), len(want[name]))
		}
	}
	for name := range got {
		if !members[name] {
			t.Errorf("unexpected member %q", name)
		}
	}
}

// readWithGo decrypts pkg with identity and reads the tar archive in it,
// checking the order of the members and their headers.
func readWithGo(t *testing.T, pkg []byte, id age.Identity) map[string][]byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(pkg), id)
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	tr := tar.NewReader(r)
	got := map[string][]byte{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("tar: %v", err)
		}
		order = append(order, h.Name)
		if h.Typeflag == tar.TypeDir {
			if h.Name != sealed.FilesDir {
				t.Errorf("unexpected directory %q", h.Name)
			}
			continue
		}
		if h.Typeflag != tar.TypeReg || h.Mode != 0o600 {
			t.Errorf("%s: type %c mode %o, want a regular file 0600", h.Name, h.Typeflag, h.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		got[h.Name] = b
	}
	if len(order) < 3 || order[0] != sealed.ReferralName || order[1] != sealed.FilesDir || order[len(order)-1] != sealed.ManifestName {
		t.Errorf("member order %q: want referral.json, files/, ..., manifest.json", order)
	}
	return got
}

func TestWriteX25519(t *testing.T) {
	ageBin := MustAge(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	cs := testContents(t)
	// Two recipients, as an agency with a duty key and a backup key has:
	// either opens the package.
	pkg := MustWrite(t, []string{other.Recipient().String(), id.Recipient().String()}, mustPackage(t, cs))

	t.Run("CLI", func(t *testing.T) {
		out, err := openWithCLI(t, ageBin, mustKeyFile(t, id), pkg)
		if err != nil {
			t.Fatalf("age -d | tar x: %v", err)
		}
		checkContents(t, readTree(t, out), cs)
	})
	t.Run("Go", func(t *testing.T) {
		checkContents(t, readWithGo(t, pkg, id), cs)
	})
	t.Run("WrongIdentity", func(t *testing.T) {
		stranger, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		out, err := openWithCLI(t, ageBin, mustKeyFile(t, stranger), pkg)
		if err == nil {
			t.Fatal("age opened the package with a key it was not sealed to")
		}
		if got := readTree(t, out); len(got) != 0 {
			t.Errorf("extracted %d files with the wrong key", len(got))
		}
		_, err = age.Decrypt(bytes.NewReader(pkg), stranger)
		var nomatch *age.NoIdentityMatchError
		if !errors.As(err, &nomatch) {
			t.Errorf("age.Decrypt with the wrong key: %v, want NoIdentityMatchError", err)
		}
	})
}

func TestWriteNoFiles(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pkg := MustWrite(t, []string{id.Recipient().String()}, mustPackage(t, nil))
	got := readWithGo(t, pkg, id)
	checkContents(t, got, nil)
	if len(got) != 2 {
		t.Errorf("members %d, want referral.json and manifest.json", len(got))
	}
	if !strings.Contains(string(got[sealed.ManifestName]), `"files": []`) {
		t.Errorf("manifest of no files:\n%s", got[sealed.ManifestName])
	}
}

func TestWritePostQuantum(t *testing.T) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	cs := testContents(t)
	pkg := MustWrite(t, []string{id.Recipient().String()}, mustPackage(t, cs))
	checkContents(t, readWithGo(t, pkg, id), cs)

	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := age.Decrypt(bytes.NewReader(pkg), x); err == nil {
		t.Error("a classic key opened a post-quantum package")
	}

	// Post-quantum keys arrived in age 1.3; older tools (Debian's 1.1)
	// cannot read them, which the package doc tells partners.
	ageBin := MustAge(t)
	if major, minor := ageVersion(t, ageBin); major < 1 || (major == 1 && minor < 3) {
		t.Logf("age %d.%d predates post-quantum keys: opened with the Go library only", major, minor)
		return
	}
	out, err := openWithCLI(t, ageBin, mustKeyFile(t, id), pkg)
	if err != nil {
		t.Fatalf("age -d | tar x: %v", err)
	}
	checkContents(t, readTree(t, out), cs)
}

func TestWriteRecipients(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	good := x.Recipient().String()
	tests := []struct {
		name       string
		recipients []string
		want       string
		code       string
	}{
		{"None", nil, "no age recipients", guardian.ECONFLICT},
		{"Garbage", []string{good, "not-a-key"}, "recipient 2: not an age public key", guardian.EINTERNAL},
		{"BadChecksum", []string{good[:len(good)-1] + "x"}, "recipient 1", guardian.EINTERNAL},
		{"Padded", []string{" " + good}, "recipient 1", guardian.EINTERNAL},
		{"SecretKey", []string{x.String()}, "recipient 1 is an age secret key", guardian.EINTERNAL},
		{"Mixed", []string{good, pq.Recipient().String()}, "cannot be mixed", guardian.EINTERNAL},
		{"TooMany", func() []string {
			s := make([]string, sealed.MaxRecipients+1)
			for i := range s {
				s[i] = good
			}
			return s
		}(), "recipients, over", guardian.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := sealed.Write(&buf, tt.recipients, mustPackage(t, nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write: %v, want an error containing %q", err, tt.want)
			}
			if got := guardian.ErrorCode(err); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Errorf("error repeats a secret key: %v", err)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the recipients were checked", buf.Len())
			}
		})
	}
}

func TestWriteBadPackage(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rs := []string{x.Recipient().String()}
	tests := []struct {
		name string
		p    *sealed.Package
		want string
	}{
		{"Nil", nil, "nil package"},
		{"NoReferral", &sealed.Package{}, "no referral"},
		{"BadJSON", &sealed.Package{Referral: json.RawMessage(`{"id":`)}, "not valid JSON"},
		{"NegativeSize", &sealed.Package{Referral: json.RawMessage(testReferral), Files: []sealed.File{{ID: "f1", Size: -1, Open: func() (io.ReadCloser, error) { return nil, nil }}}}, "negative size"},
		{"NoOpen", &sealed.Package{Referral: json.RawMessage(testReferral), Files: []sealed.File{{ID: "f1"}}}, "no content"},
		{"TooManyFiles", &sealed.Package{Referral: json.RawMessage(testReferral), Files: make([]sealed.File, sealed.MaxFiles+1)}, "files, over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := sealed.Write(&buf, rs, tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write: %v, want an error containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the package was checked", buf.Len())
			}
		})
	}
}

// errCloser is a reader whose Close fails, as a decrypting reader does
// when the last tag does not verify.
type errCloser struct{ io.Reader }

func (errCloser) Close() error { return errors.New("authentication failed") }

func TestWriteStreamFailures(t *testing.T) {
	ageBin := MustAge(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data := MustRandom(t, 100_000)
	reader := func(b []byte) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	tests := []struct {
		name string
		f    sealed.File
		want string
	}{
		{"Shorter", sealed.File{ID: "f9", Name: "a.bin", Size: int64(len(data)) + 1, Open: reader(data)}, "size mismatch: 100001 bytes recorded, content ended after 100000"},
		{"Longer", sealed.File{ID: "f9", Name: "a.bin", Size: int64(len(data)) - 1, Open: reader(data)}, "size mismatch: 99999 bytes recorded, content is longer"},
		{"OpenFails", sealed.File{ID: "f9", Name: "a.bin", Size: 1, Open: func() (io.ReadCloser, error) { return nil, errors.New("blob missing") }}, "open: blob missing"},
		{"CloseFails", sealed.File{ID: "f9", Name: "a.bin", Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
			return errCloser{bytes.NewReader(data)}, nil
		}}, "close: authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPackage(t, testContents(t)[:2])
			p.Files = append(p.Files, tt.f)
			var buf bytes.Buffer
			err := sealed.Write(&buf, []string{id.Recipient().String()}, p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `file 3 ("f9")`) {
				t.Fatalf("Write: %v, want an error about file 3 containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "a.bin") {
				t.Errorf("error names the reported file name: %v", err)
			}
			// What was written must not pass for a package.
			r, err := age.Decrypt(bytes.NewReader(buf.Bytes()), id)
			if err == nil {
				_, err = io.Copy(io.Discard, r)
			}
			if err == nil {
				t.Error("the incomplete package decrypts to the end")
			}
			if _, err := openWithCLI(t, ageBin, mustKeyFile(t, id), buf.Bytes()); err == nil {
				t.Error("age -d | tar x accepted the incomplete package")
			}
		})
	}
}

// patternReader yields n bytes of a pattern without holding them.
type patternReader struct{ n, off int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = byte((r.off + int64(i)) * 7)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func TestWriteStreams(t *testing.T) {
	const size = 48 << 20
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	p := &sealed.Package{Referral: json.RawMessage(testReferral), Files: []sealed.File{{
		ID: "big", Name: "big.bin", Size: size,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(&patternReader{n: size}), nil },
	}}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out countingWriter
	if err := sealed.Write(&out, []string{id.Recipient().String()}, p); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("writing a %d MiB file allocated %d MiB: it is not streamed", size>>20, alloc>>20)
	}
	if out.n < size {
		t.Errorf("package is %d bytes, smaller than its file", out.n)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
