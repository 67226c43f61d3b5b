package network

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// MustWriteFile writes data to name in dir and returns its path.
func MustWriteFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestReloader(t *testing.T) {
	base := string(MustReadTestdata(t, "minimal.yaml"))
	path := MustWriteFile(t, t.TempDir(), "network.yaml", []byte(base))
	r, err := NewReloader(path)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Network()

	t.Run("Unchanged", func(t *testing.T) {
		c, err := r.Reload()
		if err != nil || !c.Empty() || c.From != c.To || r.Network() != first {
			t.Errorf("got %+v, %v; want an empty change and the same network", c, err)
		}
	})

	t.Run("OnlyCommentsChanged", func(t *testing.T) {
		MustWriteFile(t, filepath.Dir(path), "network.yaml", []byte("# reviewed\n"+base))
		c, err := r.Reload()
		if err != nil || !c.Empty() || c.From == c.To || c.String() != "no change" {
			t.Errorf("got %+v, %v; want no modification between two digests", c, err)
		}
	})

	t.Run("InvalidKeepsNetwork", func(t *testing.T) {
		before := r.Network()
		MustWriteFile(t, filepath.Dir(path), "network.yaml", []byte(strings.Replace(base, "country: PY", "country: UK", 1)))
		_, err := r.Reload()
		var list ErrorList
		if !errors.As(err, &list) || !strings.Contains(err.Error(), "network.yaml:11:14:") {
			t.Fatalf("got %v, want the problem with its line", err)
		}
		if r.Network() != before {
			t.Error("an invalid file replaced the network")
		}
	})

	t.Run("MissingFileKeepsNetwork", func(t *testing.T) {
		before := r.Network()
		os.Remove(path)
		if _, err := r.Reload(); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v, want a not-exist error", err)
		}
		if r.Network() != before {
			t.Error("a missing file replaced the network")
		}
	})

	t.Run("Changes", func(t *testing.T) {
		changed := applyEdits(t, base, []edit{
			// A new liaison office with its agreement.
			{"  - id: fallback\n", "  - {id: lo-north, name: North, kind: liaison, country: CA, languages: [en], duty: {email: [north@example.org]}}\n  - id: fallback\n"},
			{"  - agency: fallback\n", "  - {agency: lo-north, channel: liaison, countries: [MX], data-scope: [], handling-code: H0, acknowledge-within: {E: 1h, 1: 1h, 2: 1h, 3: 1h}, retention: 1d, dispatch: confirm}\n  - agency: fallback\n"},
			// The southern office covers one more country and changes its webhook.
			{"[BR, CL]", "[CL, BR, UY]"},
			{"duty: {email: [south@example.org]}", "duty: {email: [south@example.org], webhook: https://south.example.org/hook}"},
			// The partner is now confirmed by an analyst.
			{"dispatch: automatic\n  - agency: lo-south", "dispatch: confirm\n  - agency: lo-south"},
			{"name: Test Hub", "name: Test Hub Two"},
		})
		MustWriteFile(t, filepath.Dir(path), "network.yaml", []byte(changed))
		before := r.Network()
		c, err := r.Reload()
		if err != nil {
			t.Fatal(err)
		}
		want := Change{
			From: before.Digest,
			To:   r.Network().Digest,
			Hub:  []string{"name"},
			Agencies: []Modification{
				{ID: "lo-north", Op: Added},
				{ID: "lo-south", Op: Changed, Keys: []string{"duty.webhook"}},
			},
			Agreements: []Modification{
				{ID: "lo-north", Op: Added},
				{ID: "lo-south", Op: Changed, Keys: []string{"countries"}},
				{ID: "py-partner", Op: Changed, Keys: []string{"dispatch"}},
			},
		}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("change (-want +got):\n%s", diff)
		}
		if got := r.Network().AgreementFor("UY").Agency; got != "lo-south" {
			t.Errorf("after reload UY goes to %s", got)
		}
		wantString := "hub changed (name); agency lo-north added; agency lo-south changed (duty.webhook); agreement lo-north added; agreement lo-south changed (countries); agreement py-partner changed (dispatch)"
		if c.String() != wantString {
			t.Errorf("String() =\n%s\nwant\n%s", c, wantString)
		}
	})

	t.Run("Removed", func(t *testing.T) {
		MustWriteFile(t, filepath.Dir(path), "network.yaml", []byte(base))
		c, err := r.Reload()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c.String(), "agency lo-north removed; ") || !strings.Contains(c.String(), "agreement lo-north removed") {
			t.Errorf("change = %s", c)
		}
	})
}

// TestReloaderConcurrent reloads while others read, for the race detector.
func TestReloaderConcurrent(t *testing.T) {
	path := MustWriteFile(t, t.TempDir(), "network.yaml", MustReadTestdata(t, "minimal.yaml"))
	r, err := NewReloader(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if r.Network().AgreementFor("PY") == nil {
					t.Error("no agreement for PY")
				}
			}
		})
	}
	for range 10 {
		if _, err := r.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

func TestNewReloaderRefusesInvalidFile(t *testing.T) {
	path := MustWriteFile(t, t.TempDir(), "network.yaml", []byte("hub: {}\n"))
	if _, err := NewReloader(path); err == nil {
		t.Fatal("NewReloader accepted an invalid file")
	}
}

// TestCompareSeesEveryField fails when a field is added to the network's
// types: Compare, Marshal and the parser must learn it too, and then this
// count.
func TestCompareSeesEveryField(t *testing.T) {
	for _, tt := range []struct {
		typ  reflect.Type
		want int
	}{
		{reflect.TypeFor[guardian.Hub](), 4},
		{reflect.TypeFor[guardian.Agency](), 7},
		{reflect.TypeFor[guardian.DutyContacts](), 2},
		{reflect.TypeFor[guardian.Agreement](), 8},
	} {
		if got := tt.typ.NumField(); got != tt.want {
			t.Errorf("%s has %d fields, Compare knows %d", tt.typ, got, tt.want)
		}
	}
}
