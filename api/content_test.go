package api_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/guardian-network/guardian"
)

type fileInfo struct {
	ID               string
	Name             string
	Size             int64
	ViewedByReporter bool
	Locked           bool
}

func TestFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		inv := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		viewed := []byte("the content the service viewed")
		unviewed := []byte("content nobody at the service looked at")
		_, refs := f.report([]string{"DE"},
			testFile{name: `../../etc/"passwd".jpg`, content: viewed, viewed: yes()},
			testFile{name: "unviewed.png", content: unviewed, viewed: no()},
			testFile{name: "no-details.bin", content: []byte("x")})
		ref := f.referralTo(refs, "de-bka-cac")
		path := "/referrals/" + id(ref.ID)
		c := f.signIn(inv).justified()

		var fl struct{ Files []fileInfo }
		c.do("GET", path+"/files", nil).want(t, http.StatusOK).decode(t, &fl)
		if len(fl.Files) != 3 || fl.Files[0].Locked || !fl.Files[1].Locked || !fl.Files[2].Locked || !fl.Files[0].ViewedByReporter {
			t.Fatalf("files %+v", fl.Files)
		}

		t.Run("Download", func(t *testing.T) {
			res := c.do("GET", path+"/files/"+fl.Files[0].ID, nil).want(t, http.StatusOK)
			if !bytes.Equal(res.body, viewed) {
				t.Errorf("content %q", res.body)
			}
			h := res.resp.Header
			if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", h)
			}
			_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
			if err != nil || strings.ContainsAny(params["filename"], `/\"`) || !strings.HasSuffix(params["filename"], ".jpg") {
				t.Errorf("Content-Disposition %q (%v)", h.Get("Content-Disposition"), err)
			}
			if n := countEvents(t, f, "file.view"); n != 1 {
				t.Errorf("%d file.view events", n)
			}
		})

		t.Run("Locked", func(t *testing.T) {
			if _, reason := c.do("GET", path+"/files/"+fl.Files[1].ID, nil).want(t, http.StatusForbidden).errReason(t); reason != "file-locked" {
				t.Errorf("reason %q", reason)
			}
			c.do("GET", path+"/files/"+strings.Repeat("0", 32), nil).want(t, http.StatusNotFound)
		})

		t.Run("LegalAuthority", func(t *testing.T) {
			la := path + "/legal-authority"
			c.do("POST", la, map[string]any{"reference": "", "fileIds": []string{fl.Files[1].ID}}).want(t, http.StatusBadRequest)
			c.do("POST", la, map[string]any{"reference": "AG Wiesbaden 12 Gs 345/26", "fileIds": []string{strings.Repeat("0", 32)}}).want(t, http.StatusNotFound)
			c.do("POST", la, map[string]any{"reference": "AG Wiesbaden 12 Gs 345/26", "fileIds": []string{fl.Files[1].ID}}).want(t, http.StatusCreated)
			res := c.do("GET", path+"/files/"+fl.Files[1].ID, nil).want(t, http.StatusOK)
			if !bytes.Equal(res.body, unviewed) {
				t.Errorf("content %q", res.body)
			}
			if n := countEvents(t, f, "file.legal-authority"); n != 1 {
				t.Errorf("%d legal-authority events", n)
			}
		})

		t.Run("TokenCannot", func(t *testing.T) {
			secret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
			tok := f.tokenClient(secret).justified()
			for _, p := range []string{"/files/" + fl.Files[0].ID, "/content", "/files"} {
				if _, reason := tok.do("GET", path+p, nil).want(t, http.StatusForbidden).errReason(t); reason != "person-only" {
					t.Errorf("%s: reason %q", p, reason)
				}
			}
		})
	})
}

// TestPackage downloads a sealed package with a token and opens it with
// the age command-line tool: the referral as the agency may see it and only
// the files it unlocks.
func TestPackage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		secret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
		tok := f.tokenClient(secret)
		viewed := []byte("viewed by the service")
		_, refs := f.report([]string{"DE"},
			testFile{name: "photo.jpg", content: viewed, viewed: yes()},
			testFile{name: "locked.png", content: []byte("locked"), viewed: no()})
		ref := f.referralTo(refs, "de-bka-cac")

		res := tok.do("GET", "/referrals/"+id(ref.ID)+"/package", nil).want(t, http.StatusOK)
		if ct := res.resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		plain := ageDecrypt(t, f.ageKey, res.body)
		members := map[string][]byte{}
		tr := tar.NewReader(bytes.NewReader(plain))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			members[h.Name] = b
		}
		var pr struct {
			Referral struct{ ID int64 }
			Content  map[string]any
			Files    []fileInfo
		}
		if err := json.Unmarshal(members["referral.json"], &pr); err != nil {
			t.Fatalf("referral.json: %v (%v)", err, keys(members))
		}
		if pr.Referral.ID != ref.ID || pr.Content["incidentSummary"] == nil || len(pr.Files) != 2 {
			t.Errorf("referral.json %+v", pr)
		}
		var files []string
		for name, b := range members {
			if strings.HasPrefix(name, "files/") && name != "files/" {
				files = append(files, name)
				if !bytes.Equal(b, viewed) {
					t.Errorf("%s holds %q", name, b)
				}
			}
		}
		if len(files) != 1 || !strings.HasSuffix(files[0], "photo.jpg") {
			t.Errorf("files in the package: %v, want the viewed one only", files)
		}
		if evs := events(t, f, "referral.package"); len(evs) != 1 || evs[0].Category != guardian.CategoryDisclosure {
			t.Errorf("package events %+v", evs)
		}

		// A person must justify it; another agency cannot have it.
		p := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		f.signIn(p).do("GET", "/referrals/"+id(ref.ID)+"/package", nil).want(t, http.StatusBadRequest)
		nlSecret, _ := f.addToken("nl-case-system", nlOrg, guardian.RoleAgencyInvestigator)
		f.tokenClient(nlSecret).do("GET", "/referrals/"+id(ref.ID)+"/package", nil).want(t, http.StatusNotFound)
	})
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ageDecrypt opens an age file with the age command (Debian package age),
// as a partner would, or with the age library if the command is missing.
func ageDecrypt(t *testing.T, id *age.X25519Identity, ciphertext []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("age"); err != nil {
		t.Logf("age command not found (%v); decrypting with filippo.io/age", err)
		r, err := age.Decrypt(bytes.NewReader(ciphertext), id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "agency-key.txt")
	pkg := filepath.Join(dir, "referral.age")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pkg, ciphertext, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command("age", "-d", "-i", keyFile, pkg)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("age -d: %v: %s", err, stderr.String())
	}
	return out.Bytes()
}
