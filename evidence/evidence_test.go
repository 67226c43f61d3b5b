package evidence_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	return MustOpen(tb, dir, 0), dir
}

// MustOpen opens the store in dir, with segments sealed past segmentSize
// if it is not zero, and closes it at the end of the test.
func MustOpen(tb testing.TB, dir string, segmentSize int64) *evidence.Store {
	tb.Helper()
	s := evidence.NewStore(dir)
	if segmentSize != 0 {
		s.SegmentSize = segmentSize
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
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

// The on-disk format, written out here rather than taken from the package so
// that a change to it fails the tests: a record starts at a multiple of 4096
// with this 64-byte header, then the ciphertext, then zeros to the next
// multiple of 4096.
const (
	blockSize  = 4096
	headerSize = 64
)

var keyPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{16}-[0-9a-f]{16}$`)

// recordHeader encodes a record header.
func recordHeader(id uint64, length, created int64) []byte {
	h := make([]byte, headerSize)
	copy(h, "GRDNREC\x01")
	binary.BigEndian.PutUint64(h[8:], id)
	binary.BigEndian.PutUint64(h[16:], uint64(length))
	binary.BigEndian.PutUint64(h[24:], uint64(created))
	binary.BigEndian.PutUint32(h[32:], crc32.Checksum(h[:32], crc32.MakeTable(crc32.Castagnoli)))
	return h
}

// location is where a blob's record is, according to its key.
type location struct {
	path string
	off  int64
	id   uint64
}

func MustLocate(tb testing.TB, dir, key string) location {
	tb.Helper()
	if !keyPattern.MatchString(key) {
		tb.Fatalf("key %q is not <segment>-<offset>-<id>", key)
	}
	off, _ := strconv.ParseInt(key[9:25], 16, 64)
	id, _ := strconv.ParseUint(key[26:], 16, 64)
	return location{filepath.Join(dir, "segments", key[:8]+".seg"), off, id}
}

// MustRecord checks the header of b's record and returns the record's
// ciphertext and its padded length.
func MustRecord(tb testing.TB, dir string, b *evidence.Blob) (ct []byte, span int64) {
	tb.Helper()
	loc := MustLocate(tb, dir, b.Key)
	data, err := os.ReadFile(loc.path)
	if err != nil {
		tb.Fatal(err)
	}
	if loc.off%blockSize != 0 || loc.off+headerSize > int64(len(data)) {
		tb.Fatalf("record at %d in a %d-byte segment", loc.off, len(data))
	}
	h := data[loc.off : loc.off+headerSize]
	length := int64(binary.BigEndian.Uint64(h[16:]))
	created := int64(binary.BigEndian.Uint64(h[24:]))
	if want := recordHeader(loc.id, length, created); !bytes.Equal(h, want) {
		tb.Fatalf("header = %x, want %x", h, want)
	}
	if age := time.Since(time.Unix(0, created)); age < 0 || age > time.Hour {
		tb.Errorf("record created %v ago", age)
	}
	span = (headerSize + length + blockSize - 1) / blockSize * blockSize
	if loc.off+span > int64(len(data)) {
		tb.Fatalf("record of %d bytes at %d in a %d-byte segment", span, loc.off, len(data))
	}
	if pad := data[loc.off+headerSize+length : loc.off+span]; bytes.Count(pad, []byte{0}) != len(pad) {
		tb.Error("record padding is not zeros")
	}
	return data[loc.off+headerSize : loc.off+headerSize+length], span
}

// segmentSizes returns the size of every segment file.
func segmentSizes(tb testing.TB, dir string) map[string]int64 {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "segments"))
	if err != nil {
		tb.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			tb.Fatal(err)
		}
		sizes[e.Name()] = fi.Size()
	}
	return sizes
}

// MustSizesUnchanged fails unless the segments have the sizes in want: a
// failed Put must leave nothing behind.
func MustSizesUnchanged(tb testing.TB, dir string, want map[string]int64) {
	tb.Helper()
	got := segmentSizes(tb, dir)
	for name, size := range got {
		if size != want[name] {
			tb.Fatalf("segment %s is %d bytes, want %d: a failed Put left data", name, size, want[name])
		}
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
			if !bytes.Equal(MustRead(t, s, b), data) {
				t.Error("blob reads back differently")
			}
			ct, _ := MustRecord(t, dir, b)
			if got, want := len(ct), 24+n+(max(n, 1)+crypto.ChunkSize-1)/crypto.ChunkSize*16; got != want {
				t.Errorf("ciphertext is %d bytes, want %d", got, want)
			}
			fi, err := os.Stat(MustLocate(t, dir, b.Key).path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode(), fs.FileMode(0o600); got != want {
				t.Errorf("segment mode = %v, want %v", got, want)
			}
			if fi.Size()%blockSize != 0 {
				t.Errorf("segment size %d is not a multiple of %d", fi.Size(), blockSize)
			}
		})
	}
}

// TestPutAppends checks that consecutive Puts append aligned records to one
// segment, each right after the one before.
func TestPutAppends(t *testing.T) {
	s, dir := MustOpenStore(t)
	var want int64
	for i, n := range []int{0, 1, 4096 - 64 - 24 - 16, 4096 - 64 - 24 - 15, 100 << 10, 7} {
		b := MustPut(t, s, pattern(n))
		loc := MustLocate(t, dir, b.Key)
		if loc.off != want {
			t.Fatalf("record %d of %d bytes at offset %d, want %d", i, n, loc.off, want)
		}
		_, span := MustRecord(t, dir, b)
		want += span
	}
	if got := segmentSizes(t, dir); len(got) != 1 || got["00000000.seg"] != want {
		t.Fatalf("segments = %v, want 00000000.seg of %d bytes", got, want)
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

			sizes := segmentSizes(t, dir)
			_, err = s.Put(t.Context(), &patternReader{n: limit + 1}, limit)
			if !errors.Is(err, evidence.ErrTooLarge) {
				t.Fatalf("Put over the limit = %v, want ErrTooLarge", err)
			}
			MustSizesUnchanged(t, dir, sizes)
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
	t.Run("NotOpen", func(t *testing.T) {
		// Put before Open would append to segments with interrupted
		// records in them.
		s := evidence.NewStore(t.TempDir())
		if _, err := s.Put(t.Context(), strings.NewReader("x"), 10); err == nil {
			t.Fatal("Put on a store not opened succeeded")
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
		// The upload is half written into its segment.
		midway = MustNoPlaintext(t, dir)
	}}
	b, err := s.Put(t.Context(), r, evidence.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	if midway != 1 {
		t.Fatalf("saw %d files mid-upload, want the segment", midway)
	}
	if n := MustNoPlaintext(t, dir); n != 1 {
		t.Fatalf("saw %d files after the upload, want the segment", n)
	}
	if got := MustRead(t, s, b); !bytes.HasPrefix(got, []byte(canary)) || len(got) != size {
		t.Fatal("blob does not read back")
	}
}

func TestPutContext(t *testing.T) {
	s, dir := MustOpenStore(t)
	MustPut(t, s, []byte("before")) // so that failures have a segment to leave data in
	sizes := segmentSizes(t, dir)
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Put(ctx, strings.NewReader("x"), 10); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		MustSizesUnchanged(t, dir, sizes)
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
		MustSizesUnchanged(t, dir, sizes)
	})
	t.Run("ReadError", func(t *testing.T) {
		errReset := errors.New("connection reset")
		r := io.MultiReader(&patternReader{n: 1 << 20}, iotest.ErrReader(errReset))
		if _, err := s.Put(t.Context(), r, evidence.DefaultMaxSize); !errors.Is(err, errReset) {
			t.Fatalf("Put = %v, want %v", err, errReset)
		}
		MustSizesUnchanged(t, dir, sizes)
	})
	if keys, _ := s.List(t.Context()); len(keys) != 1 {
		t.Fatalf("List = %v after failures, want the one blob", keys)
	}
	// The failed records' space is reused, not skipped.
	b := MustPut(t, s, []byte("after"))
	if got := MustLocate(t, dir, b.Key).off; got != blockSize {
		t.Fatalf("next record at %d, want %d", got, blockSize)
	}
}

func TestOpen(t *testing.T) {
	s, dir := MustOpenStore(t)
	b := MustPut(t, s, []byte("kept"))

	for _, d := range []string{dir, filepath.Dir(dir), filepath.Join(dir, "segments")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), fs.FileMode(0o700); got != want {
			t.Errorf("%s mode = %v, want %v", d, got, want)
		}
	}
	// A new store has no old-layout directories.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "segments" {
		t.Fatalf("store directory holds %v, want only segments", entries)
	}

	// What a crash in the middle of an old-layout upload left behind.
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp", "put-123"), []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp", "put-456"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := MustOpen(t, dir, 0)
	if entries, err := os.ReadDir(filepath.Join(dir, "tmp")); err != nil || len(entries) != 0 {
		t.Fatalf("temporary files left: %v (%v)", entries, err)
	}
	if !bytes.Equal(MustRead(t, s2, b), []byte("kept")) {
		t.Fatal("blob lost on reopening")
	}
	if err := s2.Open(); err == nil {
		t.Fatal("opened a store twice")
	}

	if err := evidence.NewStore(MustLocate(t, dir, b.Key).path).Open(); err == nil {
		t.Fatal("opened a store inside a file")
	}
}

// TestOpenRecovers simulates Puts that a crash interrupted, by appending
// what they would have left to a segment, and checks that Open cuts it off.
func TestOpenRecovers(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(f *os.File, off int64) error
	}{
		{"PendingHeader", func(f *os.File, off int64) error {
			// The header of length zero and part of the ciphertext.
			_, err := f.WriteAt(append(recordHeader(7, 0, 0), pattern(10000)...), off)
			return err
		}},
		{"HeaderNotWritten", func(f *os.File, off int64) error {
			// Ciphertext pages reached the disk, the header did not.
			_, err := f.WriteAt(pattern(3*blockSize+5), off+blockSize)
			return err
		}},
		{"CiphertextCut", func(f *os.File, off int64) error {
			// The final header reached the disk, not all that it
			// describes.
			_, err := f.WriteAt(append(recordHeader(7, 20000, time.Now().UnixNano()), pattern(5000)...), off)
			return err
		}},
		{"BadCRC", func(f *os.File, off int64) error {
			h := recordHeader(7, 100, time.Now().UnixNano())
			h[33] ^= 1
			_, err := f.WriteAt(append(h, make([]byte, blockSize)...), off)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "evidence")
			// Small segments, so that the tail also makes the segment
			// look sealed: it must be reopened for appending all the
			// same.
			const segmentSize = 64 << 10
			s := MustOpen(t, dir, segmentSize)
			kept := MustPut(t, s, pattern(20000))
			deleted := MustPut(t, s, pattern(30000))
			if err := s.Delete(deleted.Key); err != nil {
				t.Fatal(err)
			}
			s.Close()

			loc := MustLocate(t, dir, deleted.Key)
			sizes := segmentSizes(t, dir)
			f, err := os.OpenFile(loc.path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.tail(f, sizes[filepath.Base(loc.path)]); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(segmentSize + 100); err != nil {
				t.Fatal(err)
			}
			f.Close()

			s = MustOpen(t, dir, segmentSize)
			// Everything after the last live record goes, the
			// deleted record's hole included.
			want := MustLocate(t, dir, deleted.Key).off
			if got := segmentSizes(t, dir)[filepath.Base(loc.path)]; got != want {
				t.Fatalf("segment is %d bytes after Open, want %d", got, want)
			}
			if got, err := s.List(t.Context()); err != nil || !slices.Equal(got, []string{kept.Key}) {
				t.Fatalf("List = %v, %v; want %v", got, err, []string{kept.Key})
			}
			b := MustPut(t, s, []byte("after the crash"))
			if got := MustLocate(t, dir, b.Key); got.path != loc.path || got.off != want {
				t.Fatalf("next blob %s, want at %d of %s", b.Key, want, loc.path)
			}
			if _, err := s.OpenBlob(deleted.Key, deleted.FileKey); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("OpenBlob of the deleted blob whose space was reused = %v, want fs.ErrNotExist", err)
			}
			if string(MustRead(t, s, b)) != "after the crash" || !bytes.Equal(MustRead(t, s, kept), pattern(20000)) {
				t.Fatal("blobs do not read back")
			}
		})
	}
}

func TestOpenBlob(t *testing.T) {
	s, dir := MustOpenStore(t)
	data := pattern(2*crypto.ChunkSize + 100)
	b := MustPut(t, s, data)
	loc := MustLocate(t, dir, b.Key)
	seg, err := os.ReadFile(loc.path)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := MustRecord(t, dir, b)
	restore := func(t *testing.T) {
		if err := os.WriteFile(loc.path, seg, 0o600); err != nil {
			t.Fatal(err)
		}
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
		defer restore(t)
		for _, i := range []int{0, 10, 30, crypto.ChunkSize, len(ct) - 1} {
			mod := bytes.Clone(seg)
			mod[loc.off+headerSize+int64(i)] ^= 0x01
			if err := os.WriteFile(loc.path, mod, 0o600); err != nil {
				t.Fatal(err)
			}
			if readErr(b.Key, b.FileKey) == nil {
				t.Fatalf("read a blob with byte %d changed", i)
			}
		}
	})
	t.Run("TamperedHeader", func(t *testing.T) {
		// A header that does not check out is no record.
		defer restore(t)
		for _, i := range []int{0, 7, 8, 16, 23, 24, 32, 40, 63} {
			mod := bytes.Clone(seg)
			mod[loc.off+int64(i)] ^= 0x01
			if err := os.WriteFile(loc.path, mod, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := readErr(b.Key, b.FileKey); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("OpenBlob with header byte %d changed = %v, want fs.ErrNotExist", i, err)
			}
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		defer restore(t)
		for _, n := range []int{0, 24, len(ct) - 117, len(ct) - 1} {
			if err := os.Truncate(loc.path, loc.off+headerSize+int64(n)); err != nil {
				t.Fatal(err)
			}
			if readErr(b.Key, b.FileKey) == nil {
				t.Fatalf("read a blob cut to %d bytes", n)
			}
			restore(t)
		}
	})
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
		for _, key := range []string{
			"00000000000000000000000000000000", // old layout
			"000000ff-0000000000000000-0000000000000000",
			fmt.Sprintf("%s-%016x-%s", b.Key[:8], int64(1)<<40, b.Key[26:]),      // beyond the segment's end
			fmt.Sprintf("%s-%016x-%s", b.Key[:8], loc.off+blockSize, b.Key[26:]), // inside the record
			fmt.Sprintf("%s-%016x", b.Key[:25], loc.id^1),                        // another record's id
		} {
			if err := readErr(key, b.FileKey); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("OpenBlob(%s) = %v, want fs.ErrNotExist", key, err)
			}
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
	"00000000-0000000000000000-000000000000000",   // short
	"00000000-0000000000000000-00000000000000000", // long
	"0000000-00000000000000000-0000000000000000",  // dashes moved
	"00000000_0000000000000000_0000000000000000",
	"0000000A-0000000000000000-0000000000000000", // upper case
	"00000000-000000000000F000-0000000000000000",
	"00000000-0000000000000000-ABCDEF0000000000",
	"00000000-0000000000000001-0000000000000000", // not aligned
	"00000000-0000000000000800-0000000000000000",
	"00000000-f000000000000000-0000000000000000", // beyond any segment
	"00000000-ffffffffffff0000-0000000000000000",
	"../segme-0000000000000000-0000000000000000",
	"00000000-0000000000000000-000000000000/../",
	" 0000000-0000000000000000-0000000000000000",
	"+0000000-0000000000000000-0000000000000000",
	"00000000-+000000000000000-0000000000000000",
}

func TestInvalidKeys(t *testing.T) {
	s, _ := MustOpenStore(t)
	fk, _ := crypto.GenerateFileKey()
	for _, key := range badKeys {
		if _, err := s.OpenBlob(key, fk); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenBlob(%q) = %v, want an invalid key", key, err)
		}
		if err := s.Delete(key); err == nil {
			t.Errorf("Delete(%q) succeeded", key)
		}
	}
}

// FuzzKeys checks that only the two spellings of a key that the store hands
// out get past validation, whatever a caller or the database passes.
func FuzzKeys(f *testing.F) {
	for _, k := range badKeys {
		f.Add(k)
	}
	f.Add("00000000-0000000000000000-0000000000000000")
	f.Add("ffffffff-0fffffffffff0000-ffffffffffffffff")
	f.Add("0123456789abcdef0123456789abcdef")
	s, _ := MustOpenStore(f)
	fk, _ := crypto.GenerateFileKey()
	legacy := regexp.MustCompile(`^[0-9a-f]{32}$`)
	f.Fuzz(func(t *testing.T, key string) {
		wellFormed := legacy.MatchString(key)
		if keyPattern.MatchString(key) {
			off, _ := strconv.ParseUint(key[9:25], 16, 64)
			wellFormed = off%blockSize == 0 && off <= 1<<60
		}
		// The store is empty, so a key that passes names no blob.
		_, err := s.OpenBlob(key, fk)
		if accepted := errors.Is(err, fs.ErrNotExist); accepted != wellFormed {
			t.Fatalf("OpenBlob(%q) = %v; well-formed: %v", key, err, wellFormed)
		}
		if err := s.Delete(key); (err == nil) != wellFormed {
			t.Fatalf("Delete(%q) = %v; well-formed: %v", key, err, wellFormed)
		}
	})
}

// punchSupported reports whether the filesystem of dir punches holes.
func punchSupported(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.CreateTemp(dir, "punch")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(pattern(4 * blockSize)); err != nil {
		t.Fatal(err)
	}
	return syscall.Fallocate(int(f.Fd()), 0x02|0x01, 0, 4*blockSize) == nil
}

func TestDelete(t *testing.T) {
	s, dir := MustOpenStore(t)
	b := MustPut(t, s, []byte("x"))
	big := MustPut(t, s, pattern(1<<20))
	keep := MustPut(t, s, []byte("y"))
	keepCT, _ := MustRecord(t, dir, keep)
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

	t.Run("StaleKey", func(t *testing.T) {
		// A key whose id is not the record's, such as one of a deleted
		// record whose space was reused, deletes nothing; nor does one
		// that points into a record.
		loc := MustLocate(t, dir, big.Key)
		for _, key := range []string{
			fmt.Sprintf("%s-%016x", big.Key[:25], loc.id^1),
			fmt.Sprintf("%s-%016x-%s", big.Key[:8], loc.off+blockSize, big.Key[26:]),
		} {
			if err := s.Delete(key); err != nil {
				t.Fatalf("Delete(%s) = %v, want nil", key, err)
			}
		}
		if !bytes.Equal(MustRead(t, s, big), pattern(1<<20)) {
			t.Fatal("Delete with a stale key removed a blob")
		}
	})
	t.Run("CiphertextGone", func(t *testing.T) {
		loc := MustLocate(t, dir, big.Key)
		_, span := MustRecord(t, dir, big)
		var before syscall.Stat_t
		if err := syscall.Stat(loc.path, &before); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(big.Key); err != nil {
			t.Fatal(err)
		}
		var after syscall.Stat_t
		if err := syscall.Stat(loc.path, &after); err != nil {
			t.Fatal(err)
		}
		seg, err := os.ReadFile(loc.path)
		if err != nil {
			t.Fatal(err)
		}
		if region := seg[loc.off : loc.off+span]; bytes.Count(region, []byte{0}) != len(region) {
			t.Fatal("the deleted record's bytes are still in the segment")
		}
		if punchSupported(t, filepath.Dir(loc.path)) {
			// st_blocks counts 512-byte units.
			if freed := (before.Blocks - after.Blocks) * 512; freed < span-blockSize {
				t.Fatalf("Delete freed %d bytes of a %d-byte record", freed, span)
			}
		} else {
			t.Log("the filesystem does not punch holes; the record was zeroed")
		}
		if got, _ := MustRecord(t, dir, keep); !bytes.Equal(got, keepCT) {
			t.Fatal("Delete changed the next record")
		}
		if err := s.Delete(big.Key); err != nil {
			t.Fatalf("second Delete = %v, want nil", err)
		}
	})
	t.Run("MissingSegment", func(t *testing.T) {
		if err := s.Delete("0000ffff-0000000000000000-0000000000000000"); err != nil {
			t.Fatalf("Delete in a segment that does not exist = %v, want nil", err)
		}
	})
}

// TestSealing checks that a segment past the size limit is never appended to
// again, and that one whose records are all deleted is removed.
func TestSealing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	const segmentSize = 3 * blockSize
	s := MustOpen(t, dir, segmentSize)
	var blobs []*evidence.Blob
	for range 4 {
		// Two records fill a segment: the first ends before the
		// limit, the second past it.
		blobs = append(blobs, MustPut(t, s, pattern(5000)))
	}
	segs := map[string][]string{}
	for _, b := range blobs {
		segs[b.Key[:8]] = append(segs[b.Key[:8]], b.Key)
	}
	if len(segs) != 2 || len(segs["00000000"]) != 2 || len(segs["00000001"]) != 2 {
		t.Fatalf("blobs in segments %v, want two in each of 00000000 and 00000001", segs)
	}

	// Reopened, a sealed segment stays sealed.
	s.Close()
	s = MustOpen(t, dir, segmentSize)
	if b := MustPut(t, s, []byte("z")); b.Key[:8] != "00000002" {
		t.Fatalf("Put after reopening went to %s, want a new segment 00000002", b.Key)
	}

	if err := s.Delete(blobs[0].Key); err != nil {
		t.Fatal(err)
	}
	if _, ok := segmentSizes(t, dir)["00000000.seg"]; !ok {
		t.Fatal("a sealed segment with a record left was removed")
	}
	if err := s.Delete(blobs[1].Key); err != nil {
		t.Fatal(err)
	}
	_, ok := segmentSizes(t, dir)["00000000.seg"]
	if punchSupported(t, dir) && ok {
		t.Fatal("a sealed segment with no record left is still there")
	}
	if err := s.Delete(blobs[1].Key); err != nil {
		t.Fatalf("Delete in a removed segment = %v, want nil", err)
	}
	if got, err := s.List(t.Context()); err != nil || len(got) != 3 {
		t.Fatalf("List = %v, %v; want 3 blobs", got, err)
	}
	for _, b := range blobs[2:] {
		if !bytes.Equal(MustRead(t, s, b), pattern(5000)) {
			t.Fatal("blob does not read back")
		}
	}
}

func TestList(t *testing.T) {
	s, dir := MustOpenStore(t)
	var want []string
	for i := range 5 {
		want = append(want, MustPut(t, s, []byte{byte(i)}).Key)
	}
	deleted := MustPut(t, s, []byte("deleted"))
	if err := s.Delete(deleted.Key); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)

	// Things the store did not write are not blobs.
	for _, name := range []string{"00", "01", "segments/0000000a.seg"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{
		"00/junk",
		"00/0123456789abcdef0123456789abcdef", // in the wrong fan-out directory
		"01/0123456789ABCDEF0123456789ABCDEF",
		"zz",
		"segments/junk",
		"segments/0000000B.seg",
		"segments/0000000c.seg.tmp",
		"segments/000000d.seg",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), recordHeader(1, 1, 1), 0o600); err != nil {
			t.Fatal(err)
		}
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
		// Make the record two hours old, as an upload completed then
		// would have written it.
		loc := MustLocate(t, dir, old)
		f, err := os.OpenFile(loc.path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		h := make([]byte, headerSize)
		if _, err := f.ReadAt(h, loc.off); err != nil {
			t.Fatal(err)
		}
		length := int64(binary.BigEndian.Uint64(h[16:]))
		if _, err := f.WriteAt(recordHeader(loc.id, length, now.Add(-2*time.Hour).UnixNano()), loc.off); err != nil {
			t.Fatal(err)
		}
		f.Close()

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
	t.Run("DuringPut", func(t *testing.T) {
		// A record being written is not a blob yet.
		listed := false
		r := &hookReader{r: &patternReader{n: 1 << 20}, at: 1 << 19, hook: func() {
			got, err := s.List(t.Context())
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("List during a Put = %v, %v; want %v", got, err, want)
			}
			listed = true
		}}
		b, err := s.Put(t.Context(), r, evidence.DefaultMaxSize)
		if err != nil || !listed {
			t.Fatalf("Put = %v, listed %v", err, listed)
		}
		if got, _ := s.List(t.Context()); !slices.Contains(got, b.Key) {
			t.Fatalf("List after the Put = %v, want %s in it", got, b.Key)
		}
	})
}

// TestLegacyBlobs checks that blobs of the one-file-per-blob layout, as
// earlier versions wrote them, still open, list and delete.
func TestLegacyBlobs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	const key = "5a0123456789abcdef0123456789abcd"
	data := pattern(100_000)
	fk, _ := crypto.GenerateFileKey()
	var ct bytes.Buffer
	w, err := crypto.NewEncryptWriter(&ct, fk)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "5a"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "5a", key)
	if err := os.WriteFile(path, ct.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, dir, 0)
	old := &evidence.Blob{Key: key, FileKey: fk}
	if !bytes.Equal(MustRead(t, s, old), data) {
		t.Fatal("old blob does not read back")
	}
	b := MustPut(t, s, []byte("new"))
	if got, err := s.List(t.Context()); err != nil || !slices.Equal(got, []string{b.Key, key}) {
		t.Fatalf("List = %v, %v; want %v", got, err, []string{b.Key, key})
	}
	if got, err := s.ListBefore(t.Context(), time.Now().Add(-time.Hour)); err != nil || !slices.Equal(got, []string{key}) {
		t.Fatalf("ListBefore = %v, %v; want %v", got, err, []string{key})
	}
	for range 2 {
		if err := s.Delete(key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old blob file still there: %v", err)
	}
	if _, err := s.OpenBlob(key, fk); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenBlob after Delete = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete("5b0123456789abcdef0123456789abcd"); err != nil {
		t.Fatalf("Delete in a fan-out directory that does not exist = %v, want nil", err)
	}
	if got, err := s.List(t.Context()); err != nil || !slices.Equal(got, []string{b.Key}) {
		t.Fatalf("List = %v, %v; want %v", got, err, []string{b.Key})
	}
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

// TestPutConcurrentSegments holds n Puts in flight at once and checks that
// each had a segment of its own.
func TestPutConcurrentSegments(t *testing.T) {
	s, dir := MustOpenStore(t)
	const n = 8
	var started sync.WaitGroup
	started.Add(n)
	blobs := make([]*evidence.Blob, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := &hookReader{r: &patternReader{n: 200_000 + int64(i)}, at: 1, hook: func() {
				// Every Put has taken a segment and started
				// writing before any goes on.
				started.Done()
				started.Wait()
			}}
			b, err := s.Put(t.Context(), r, evidence.DefaultMaxSize)
			if err != nil {
				t.Error(err)
				return
			}
			blobs[i] = b
		})
	}
	wg.Wait()
	segs := map[string]bool{}
	for i, b := range blobs {
		if b == nil {
			t.FailNow()
		}
		segs[b.Key[:8]] = true
		if !bytes.Equal(MustRead(t, s, b), pattern(200_000+i)) {
			t.Errorf("blob %d reads back differently", i)
		}
	}
	if len(segs) != n || len(segmentSizes(t, dir)) != n {
		t.Fatalf("%d concurrent Puts used %d segments, want one each", n, len(segs))
	}
	// The segments are back in the pool: more Puts create no new ones.
	for range 2 * n {
		MustPut(t, s, []byte("again"))
	}
	if got := len(segmentSizes(t, dir)); got != n {
		t.Fatalf("%d segments after sequential Puts, want %d", got, n)
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

// BenchmarkPut measures Put as the intake runs it: many uploads at once on
// few cores (16 goroutines on 2), and large files one at a time.
func BenchmarkPut(b *testing.B) {
	b.Run("100KiB", func(b *testing.B) {
		s, _ := MustOpenStore(b)
		data := pattern(100 << 10)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			r := bytes.NewReader(data)
			for pb.Next() {
				r.Reset(data)
				if _, err := s.Put(b.Context(), r, evidence.DefaultMaxSize); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("16MiB", func(b *testing.B) {
		s, _ := MustOpenStore(b)
		data := pattern(16 << 20)
		r := bytes.NewReader(data)
		b.SetBytes(int64(len(data)))
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

// openFDs counts the process's open file descriptors.
func openFDs(tb testing.TB) int {
	tb.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skip("no /proc/self/fd:", err)
	}
	return len(entries)
}

// TestPutAbortedLeavesNothing holds n Puts in flight at once, each in a
// segment of its own, and fails them all, as when many uploads are cut off
// together: no segment file and no descriptor may stay behind.
func TestPutAbortedLeavesNothing(t *testing.T) {
	s, dir := MustOpenStore(t)
	kept := MustPut(t, s, []byte("kept")) // a segment with a record stays
	before, fds := segmentSizes(t, dir), openFDs(t)
	const n = 32
	var started, wg sync.WaitGroup
	started.Add(n)
	errAbort := errors.New("client gone")
	for range n {
		wg.Go(func() {
			r := &hookReader{r: &patternReader{n: 1 << 20}, at: 1, hook: func() {
				started.Done()
				started.Wait()
			}}
			if _, err := s.Put(t.Context(), io.MultiReader(r, iotest.ErrReader(errAbort)), evidence.DefaultMaxSize); !errors.Is(err, errAbort) {
				t.Errorf("Put = %v, want %v", err, errAbort)
			}
		})
	}
	wg.Wait()
	if got := segmentSizes(t, dir); len(got) != len(before) {
		t.Errorf("segments after %d aborted Puts: %v, want %v", n, got, before)
	}
	MustSizesUnchanged(t, dir, before)
	if got := openFDs(t); got > fds {
		t.Errorf("%d descriptors open after the aborted Puts, %d before", got, fds)
	}
	if keys, _ := s.List(t.Context()); len(keys) != 1 || keys[0] != kept.Key {
		t.Errorf("List = %v, want only %s", keys, kept.Key)
	}
	MustPut(t, s, []byte("after")) // the store still works
}
