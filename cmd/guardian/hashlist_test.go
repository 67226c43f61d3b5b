package main

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/pdq"
)

// syntheticPNG is a PNG of random noise.
func syntheticPNG(tb testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	_, _ = rand.Read(img.Pix)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// rotatedPNG returns the PNG picture img turned a quarter clockwise.
func rotatedPNG(tb testing.TB, img []byte) []byte {
	src, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		tb.Fatal(err)
	}
	b := src.Bounds()
	dst := image.NewGray(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dst.Set(b.Max.Y-1-y, x, src.At(x, y))
		}
	}
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func randomHexString(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestHashLists uploads an image and a text file to a live hub, imports
// synthetic hash lists naming them, and reads the hashes and matches back
// with route explain and report show.
func TestHashLists(t *testing.T) {
	data := t.TempDir()
	user, password := addReporter(t, "hashing-reporter", "--data", data)
	h := StartHub(t, "--data", data)
	ctx := testContext(t)
	c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
	id, err := c.Submit(ctx, []byte(intaketest.MinimalReport))
	if err != nil {
		t.Fatal(err)
	}
	img, text := syntheticPNG(t), []byte("synthetic text\n")
	for i, content := range [][]byte{img, text} {
		if r, err := c.Upload(ctx, id, "file", bytes.NewReader(content)); err != nil || r.Code != 0 {
			t.Fatalf("upload %d: %+v %v", i, r, err)
		}
	}
	if _, err := c.Finish(ctx, id); err != nil {
		t.Fatal(err)
	}
	sid := itoa(id)
	imgMD5, textSHA1 := md5.Sum(img), sha1.Sum(text)

	csvList := "type,hash,category\n" +
		"md5," + strings.ToUpper(hex.EncodeToString(imgMD5[:])) + ",A1\n" +
		"sha256," + randomHexString(64) + ",B2\n"
	out := MustRunGuardian(t, "hashlist", "import", writeFile(t, "list.csv", csvList), "--name", "example-csv",
		"--source", "synthetic test", "--version", "2", "--data", data)
	if !strings.Contains(out, "imported example-csv version 2: 2 hashes") {
		t.Errorf("import printed %q", out)
	}
	vics := `{"value": [{"Media": [{"MediaID": 1, "Category": 2, "SHA1": "` + hex.EncodeToString(textSHA1[:]) + `"}]}]}`
	MustRunGuardian(t, "hashlist", "import", writeFile(t, "list.json", vics), "--name", "example-vics", "--source", "synthetic test", "--data", data)

	t.Run("Refused", func(t *testing.T) {
		bad := "md5," + randomHexString(32) + ",1\nmd5,xyz,1\nsha1," + randomHexString(32) + ",1\n"
		_, err := runGuardian("hashlist", "import", writeFile(t, "bad.csv", bad), "--name", "bad", "--source", "s", "--data", data)
		if err == nil || !strings.Contains(err.Error(), "line 2:") || !strings.Contains(err.Error(), "line 3:") {
			t.Errorf("bad list: %v", err)
		}
		_, err = runGuardian("hashlist", "import", writeFile(t, "old.csv", csvList), "--name", "example-csv", "--source", "s",
			"--version", "1", "--data", data)
		if err == nil || !strings.Contains(err.Error(), "--force") {
			t.Errorf("older version: %v", err)
		}
		out := MustRunGuardian(t, "hashlist", "list", "--data", data)
		var names []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			names = append(names, f[0]+" "+f[1])
		}
		if len(names) != 2 || names[0] != "example-csv 2" || !strings.HasPrefix(names[1], "example-vics ") {
			t.Errorf("hashlist list printed\n%s", out)
		}
	})

	var e struct {
		Files []struct {
			ID          string `json:"id"`
			MD5         string `json:"md5"`
			ImageStatus string `json:"imageStatus"`
			PDQ         string `json:"pdq"`
			PDQQuality  *int   `json:"pdqQuality"`
		} `json:"files"`
		Matches map[string][]struct {
			List     string `json:"list"`
			Type     string `json:"type"`
			Category string `json:"category"`
		} `json:"hashMatches"`
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		out, err := runGuardian("route", "explain", sid, "--json", "--data", data)
		if err == nil {
			if err := json.Unmarshal([]byte(out), &e); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report %s not triaged: %v", sid, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(e.Files) != 2 || e.Files[0].ImageStatus != "hashed" || len(e.Files[0].PDQ) != 64 || e.Files[0].PDQQuality == nil ||
		e.Files[1].ImageStatus != "not-image" || e.Files[1].PDQ != "" {
		t.Fatalf("files %+v", e.Files)
	}
	m0, m1 := e.Matches[e.Files[0].ID], e.Matches[e.Files[1].ID]
	if len(m0) != 1 || m0[0].List != "example-csv" || m0[0].Type != "md5" || m0[0].Category != "A1" ||
		len(m1) != 1 || m1[0].List != "example-vics" || m1[0].Type != "sha1" || m1[0].Category != "2" {
		t.Errorf("matches %+v", e.Matches)
	}
	out = MustRunGuardian(t, "route", "explain", sid, "--data", data)
	for _, want := range []string{"\nFiles\n", "pdq " + e.Files[0].PDQ, "image not-image", "in hash list example-csv (version 2): md5, category A1"} {
		if !strings.Contains(out, want) {
			t.Errorf("route explain lacks %q:\n%s", want, out)
		}
	}
	out = MustRunGuardian(t, "report", "show", sid, "--data", data, "--justification", "test: check the file hashes")
	if !strings.Contains(out, `"pdq": "`+e.Files[0].PDQ+`"`) || !strings.Contains(out, `"imageStatus": "not-image"`) {
		t.Errorf("report show lacks the hashes:\n%s", out)
	}

	MustRunGuardian(t, "hashlist", "remove", "example-csv", "--data", data)
	if _, err := runGuardian("hashlist", "remove", "example-csv", "--data", data); err == nil {
		t.Error("removed a list twice")
	}
}

// TestHashListTriage imports a PDQ list before two reports of the same
// picture arrive: the hub's triage finds it (at a distance), lowers the
// reports as known content, and bundles them.
func TestHashListTriage(t *testing.T) {
	data := t.TempDir()
	user, password := addReporter(t, "triage-reporter", "--data", data)
	img := syntheticPNG(t)
	r, err := pdq.HashReader(bytes.NewReader(img))
	if err != nil || !r.Matchable() {
		t.Fatalf("synthetic image: %+v, %v", r, err)
	}
	listed := r.Hash
	listed[0] ^= 0x0f // 4 bits away
	MustRunGuardian(t, "hashlist", "import", writeFile(t, "pdq.csv", "pdq,"+listed.String()+",2\n"), "--name", "example-pdq",
		"--source", "synthetic test", "--version", "1", "--data", data)
	h := StartHub(t, "--data", data)
	ctx := testContext(t)
	c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
	var ids []string
	for range 2 {
		id, err := c.Submit(ctx, []byte(intaketest.MinimalReport))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Upload(ctx, id, "file", bytes.NewReader(img)); err != nil || r.Code != 0 {
			t.Fatalf("upload: %+v %v", r, err)
		}
		if _, err := c.Finish(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, itoa(id))
	}
	var out string
	deadline := time.Now().Add(waitTimeout)
	for _, id := range ids { // both routed, so both in the bundle
		for {
			var err error
			out, err = runGuardian("route", "explain", id, "--data", data)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("report %s not triaged: %v", id, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A rotated copy matches too, on the rotations stored at upload.
	rotID, err := c.Submit(ctx, []byte(intaketest.MinimalReport))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Upload(ctx, rotID, "file", bytes.NewReader(rotatedPNG(t, img))); err != nil || r.Code != 0 {
		t.Fatalf("upload: %+v %v", r, err)
	}
	if _, err := c.Finish(ctx, rotID); err != nil {
		t.Fatal(err)
	}
	var rotOut string
	for {
		var err error
		if rotOut, err = runGuardian("route", "explain", itoa(rotID), "--data", data); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report %d not triaged: %v", rotID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !regexp.MustCompile(`in hash list example-pdq \(version 1\): pdq distance 4 \(rot`).MatchString(rotOut) {
		t.Errorf("the rotated copy did not match at the listed distance, as a rotation (exact rotations stored at upload):\n%s", rotOut)
	}

	for _, want := range []string{
		"known-content",
		"1 of 1 reported files in hash lists: example-pdq category 2 at distance 4",
		"at triage in hash list example-pdq (version 1): pdq distance 4, category 2, item " + listed.String(),
		"\nBundle (reports whose files match the same list items)\n  1 other reports\n  report " + ids[0] + ": pdq " + listed.String(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("route explain lacks %q:\n%s", want, out)
		}
	}
}
