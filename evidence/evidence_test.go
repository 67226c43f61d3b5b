package evidence_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
)

// MustOpenStore opens a store in a new temporary directory.
func MustOpenStore(tb testing.TB) (*evidence.Store, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "data", "evidence")
	s := evidence.NewStore(dir)
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	return s, dir
}

// MustPut stores data and checks the blob's description against it.
func MustPut(tb testing.TB, s *evidence.Store, data []byte) *evidence.Blob {
	tb.Helper()
	b, err := s.Put(tb.Context(), bytes.NewReader(data), evidence.DefaultMaxSize)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func MustRead(tb testing.TB, s *evidence.Store, b *evidence.Blob) []byte {
	tb.Helper()
	r, err := s.OpenBlob(b.Key, b.FileKey)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// MustTempEmpty fails unless no upload is in progress or left behind.
func MustTempEmpty(tb testing.TB, dir string) {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(entries) != 0 {
		tb.Fatalf("temporary files left: %v", entries)
	}
}

// patternReader yields n deterministic bytes without holding them.
type patternReader struct {
	n, off int64
	fill   []byte // repeated; defaults to i mod 251
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		if r.fill != nil {
			p[i] = r.fill[(r.off+int64(i))%int64(len(r.fill))]
		} else {
			p[i] = byte((r.off + int64(i)) % 251)
		}
	}
	r.off += int64(len(p))
	return len(p), nil
}

func pattern(n int) []byte {
	b, _ := io.ReadAll(&patternReader{n: int64(n)})
	return b
}

func TestPut(t *testing.T) {
	s, dir := MustOpenStore(t)
	for _, n := range []int{0, 1, 100 << 10, crypto.ChunkSize, 1<<20 + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := pattern(n)
			b := MustPut(t, s, data)

			md, s1, s256 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
			if got, want := b.Size, int64(n); got != want {
				t.Errorf("Size = %d, want %d", got, want)
			}
			if got, want := b.MD5, hex.EncodeToString(md[:]); got != want {
				t.Errorf("MD5 = %s, want %s", got, want)
			}
			if got, want := b.SHA1, hex.EncodeToString(s1[:]); got != want {
				t.Errorf("SHA1 = %s, want %s", got, want)
			}
			if got, want := b.SHA256, hex.EncodeToString(s256[:]); got != want {
				t.Errorf("SHA256 = %s, want %s", got, want)
			}
			if len(b.Key) != 32 || strings.Trim(b.Key, "0123456789abcdef") != "" {
				t.Errorf("Key = %q, want 32 lower-case hex characters", b.Key)
			}
			if !bytes.Equal(MustRead(t, s, b), data) {
				t.Error("blob reads back differently")
			}
			fi, err := os.Stat(filepath.Join(dir, b.Key[:2], b.Key))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode(), fs.FileMode(0o600); got != want {
				t.Errorf("blob mode = %v, want %v", got, want)
			}
			MustTempEmpty(t, dir)
		})
	}
}

func TestPutSlowReader(t *testing.T) {
	s, _ := MustOpenStore(t)
	data := pattern(3*crypto.ChunkSize + 7)
	b, err := s.Put(t.Context(), iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(data))), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(MustRead(t, s, b), data) {
		t.Fatal("blob reads back differently")
	}
}

func TestPutLimit(t *testing.T) {
	s, dir := MustOpenStore(t)
	for _, limit := range []int64{0, 1, 100_000, crypto.ChunkSize, 3 * crypto.ChunkSize} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			b, err := s.Put(t.Context(), &patternReader{n: limit}, limit)
			if err != nil {
				t.Fatalf("Put at the limit: %v", err)
			}
			if b.Size != limit {
				t.Fatalf("Size = %d, want %d", b.Size, limit)
			}
			if err := s.Delete(b.Key); err != nil {
				t.Fatal(err)
			}

			_, err = s.Put(t.Context(), &patternReader{n: limit + 1}, limit)
			if !errors.Is(err, evidence.ErrTooLarge) {
				t.Fatalf("Put over the limit = %v, want ErrTooLarge", err)
			}
			MustTempEmpty(t, dir)
			if keys, _ := s.List(t.Context()); len(keys) != 0 {
				t.Fatalf("blobs left after refusals: %v", keys)
			}
		})
	}
	t.Run("Negative", func(t *testing.T) {
		if _, err := s.Put(t.Context(), strings.NewReader(""), -1); err == nil {
			t.Fatal("Put with a negative limit succeeded")
		}
	})
	t.Run("StopsReading", func(t *testing.T) {
		// An endless upload must be cut off, not drained.
		r := &patternReader{n: 1 << 62}
		if _, err := s.Put(t.Context(), r, 1<<20); !errors.Is(err, evidence.ErrTooLarge) {
			t.Fatalf("Put = %v, want ErrTooLarge", err)
		}
		if r.off > 1<<20+crypto.ChunkSize {
			t.Fatalf("read %d bytes for a 1 MiB limit", r.off)
		}
	})
}

// canary is a recognisable plaintext; no encrypted byte run should match it.
const canary = "SYNTHETIC-EVIDENCE-CANARY-0123456789-"

// MustNoPlaintext fails if any file under dir contains the canary.
func MustNoPlaintext(tb testing.TB, dir string) (files int) {
	tb.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(data, []byte(canary[:16])) {
			tb.Errorf("plaintext found on disk in %s", path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// hookReader calls hook once, after at bytes have been read.
type hookReader struct {
	r    io.Reader
	at   int64
	n    int64
	hook func()
}

func (r *hookReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.n < r.at && r.n+int64(n) >= r.at {
		r.hook()
	}
	r.n += int64(n)
	return n, err
}

func TestPutNoPlaintextOnDisk(t *testing.T) {
	s, dir := MustOpenStore(t)
	const size = 3 << 20
	src := &patternReader{n: size, fill: []byte(canary)}
	midway := 0
	r := &hookReader{r: src, at: size / 2, hook: func() {
		// The upload is half written: the temporary file exists.
		midway = MustNoPlaintext(t, dir)
	}}
	b, err := s.Put(t.Context(), r, evidence.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	if midway != 1 {
		t.Fatalf("saw %d files mid-upload, want the temporary file", midway)
	}
	if n := MustNoPlaintext(t, dir); n != 1 {
		t.Fatalf("saw %d files after the upload, want the blob", n)
	}
	if got := MustRead(t, s, b); !bytes.HasPrefix(got, []byte(canary)) || len(got) != size {
		t.Fatal("blob does not read back")
	}
}

func TestPutContext(t *testing.T) {
	s, dir := MustOpenStore(t)
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Put(ctx, strings.NewReader("x"), 10); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		MustTempEmpty(t, dir)
	})
	t.Run("CancelledMidway", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		r := &hookReader{r: &patternReader{n: 4 << 20}, at: 1 << 20, hook: cancel}
		if _, err := s.Put(ctx, r, evidence.DefaultMaxSize); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		if r.n >= 4<<20 {
			t.Fatal("Put read on after cancellation")
		}
		MustTempEmpty(t, dir)
	})
	t.Run("ReadError", func(t *testing.T) {
		errReset := errors.New("connection reset")
		r := io.MultiReader(&patternReader{n: 1 << 20}, iotest.ErrReader(errReset))
		if _, err := s.Put(t.Context(), r, evidence.DefaultMaxSize); !errors.Is(err, errReset) {
			t.Fatalf("Put = %v, want %v", err, errReset)
		}
		MustTempEmpty(t, dir)
	})
	if keys, _ := s.List(t.Context()); len(keys) != 0 {
		t.Fatalf("blobs left after failures: %v", keys)
	}
}

func TestOpen(t *testing.T) {
	s, dir := MustOpenStore(t)
	b := MustPut(t, s, []byte("kept"))

	for _, d := range []string{dir, filepath.Dir(dir), filepath.Join(dir, "tmp"), filepath.Join(dir, "00"), filepath.Join(dir, "ff")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), fs.FileMode(0o700); got != want {
			t.Errorf("%s mode = %v, want %v", d, got, want)
		}
	}

	// What a crash mid-upload leaves behind.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "put-123"), []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp", "put-456"), 0o700); err != nil {
		t.Fatal(err)
	}
	s2 := evidence.NewStore(dir)
	if err := s2.Open(); err != nil {
		t.Fatal(err)
	}
	MustTempEmpty(t, dir)
	if !bytes.Equal(MustRead(t, s2, b), []byte("kept")) {
		t.Fatal("blob lost on reopening")
	}

	if err := evidence.NewStore(filepath.Join(dir, b.Key[:2], b.Key)).Open(); err == nil {
		t.Fatal("opened a store inside a file")
	}
}

func TestOpenBlob(t *testing.T) {
	s, dir := MustOpenStore(t)
	data := pattern(2*crypto.ChunkSize + 100)
	b := MustPut(t, s, data)
	path := filepath.Join(dir, b.Key[:2], b.Key)
	ct, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	readErr := func(key string, fk *crypto.FileKey) error {
		r, err := s.OpenBlob(key, fk)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.ReadAll(r)
		return err
	}
	t.Run("Tampered", func(t *testing.T) {
		for _, i := range []int{0, 10, 30, crypto.ChunkSize, len(ct) - 1} {
			mod := bytes.Clone(ct)
			mod[i] ^= 0x01
			if err := os.WriteFile(path, mod, 0o600); err != nil {
				t.Fatal(err)
			}
			if readErr(b.Key, b.FileKey) == nil {
				t.Fatalf("read a blob with byte %d changed", i)
			}
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		for _, n := range []int{0, 24, len(ct) - 117, len(ct) - 1} {
			if err := os.WriteFile(path, ct[:n], 0o600); err != nil {
				t.Fatal(err)
			}
			if readErr(b.Key, b.FileKey) == nil {
				t.Fatalf("read a blob cut to %d bytes", n)
			}
		}
	})
	if err := os.WriteFile(path, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("Swapped", func(t *testing.T) {
		// Another blob's ciphertext under this name does not open
		// with this blob's key.
		other := MustPut(t, s, data)
		if readErr(other.Key, b.FileKey) == nil {
			t.Fatal("read another blob with this blob's key")
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		fk, _ := crypto.GenerateFileKey()
		if readErr(b.Key, fk) == nil {
			t.Fatal("read with the wrong key")
		}
	})
	t.Run("Missing", func(t *testing.T) {
		if err := readErr("00000000000000000000000000000000", b.FileKey); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("OpenBlob = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		if !bytes.Equal(MustRead(t, s, b), data) {
			t.Fatal("restored blob does not read back")
		}
	})
}

var badKeys = []string{
	"",
	"0123",
	"0123456789ABCDEF0123456789ABCDEF",
	"0123456789abcdef0123456789abcdeg",
	"0123456789abcdef0123456789abcdef0",
	"../../../../../../../../etc/passwd",
	"00/../../../../../../../../passwd",
	"tmp/put-0123456789abcdef01234567",
	"0123456789abcdef0123456789abcde\x00",
}

func TestInvalidKeys(t *testing.T) {
	s, _ := MustOpenStore(t)
	fk, _ := crypto.GenerateFileKey()
	for _, key := range badKeys {
		if _, err := s.OpenBlob(key, fk); err == nil {
			t.Errorf("OpenBlob(%q) succeeded", key)
		}
		if err := s.Delete(key); err == nil {
			t.Errorf("Delete(%q) succeeded", key)
		}
	}
}

func TestDelete(t *testing.T) {
	s, _ := MustOpenStore(t)
	b := MustPut(t, s, []byte("x"))
	keep := MustPut(t, s, []byte("y"))
	if err := s.Delete(b.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenBlob(b.Key, b.FileKey); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenBlob after Delete = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(b.Key); err != nil {
		t.Fatalf("second Delete = %v, want nil", err)
	}
	if got := MustRead(t, s, keep); string(got) != "y" {
		t.Fatal("Delete removed another blob")
	}
}

func TestList(t *testing.T) {
	s, dir := MustOpenStore(t)
	var want []string
	for i := range 5 {
		want = append(want, MustPut(t, s, []byte{byte(i)}).Key)
	}
	slices.Sort(want)

	// Things the store did not write are not blobs.
	for _, name := range []string{
		"00/junk",
		"00/0123456789abcdef0123456789abcdef", // in the wrong fan-out directory
		"01/0123456789ABCDEF0123456789ABCDEF",
		"zz",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "01", "0123456789abcdef0123456789abcdef"), 0o700); err != nil {
		t.Fatal(err)
	}

	got, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}

	t.Run("Before", func(t *testing.T) {
		now := time.Now()
		old := want[2]
		past := now.Add(-2 * time.Hour)
		if err := os.Chtimes(filepath.Join(dir, old[:2], old), past, past); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListBefore(t.Context(), now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []string{old}) {
			t.Fatalf("ListBefore = %v, want %v", got, []string{old})
		}
		if _, err := s.ListBefore(t.Context(), time.Time{}); err == nil {
			t.Fatal("ListBefore with a zero time succeeded")
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("List = %v, want context.Canceled", err)
		}
	})
}

func TestPutConcurrent(t *testing.T) {
	s, _ := MustOpenStore(t)
	var (
		mu   sync.Mutex
		keys = map[string]bool{}
		wg   sync.WaitGroup
	)
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				data := pattern(1000*i + j)
				b := MustPut(t, s, data)
				if !bytes.Equal(MustRead(t, s, b), data) {
					t.Error("blob reads back differently")
				}
				mu.Lock()
				keys[b.Key] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got, _ := s.List(t.Context()); len(got) != 20 || len(keys) != 20 {
		t.Fatalf("%d blobs listed, %d distinct keys; want 20", len(got), len(keys))
	}
}

// TestPutMemory streams 256 MiB and checks that memory use does not grow
// with the upload: the requirement is that evidence is never held whole.
func TestPutMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	s, _ := MustOpenStore(t)
	const size = 256 << 20
	// Warm up the pools, so that only growth with size is measured.
	MustPut(t, s, pattern(1000))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := s.Put(t.Context(), &patternReader{n: size}, evidence.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if b.Size != size {
		t.Fatalf("Size = %d, want %d", b.Size, size)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	inUse := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("put %d MiB: allocated %d KiB, heap in use grew %d KiB", size>>20, allocated>>10, inUse>>10)
	const bound = 2 << 20 // under 1% of the upload
	if allocated > bound || inUse > bound {
		t.Fatalf("put %d MiB allocated %d bytes and grew the heap by %d; want both under %d", size>>20, allocated, inUse, bound)
	}
	if err := s.Delete(b.Key); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{100 << 10, 16 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s, _ := MustOpenStore(b)
			data := pattern(size)
			r := bytes.NewReader(data)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(data)
				blob, err := s.Put(b.Context(), r, evidence.DefaultMaxSize)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Delete(blob.Key); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
