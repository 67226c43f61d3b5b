// Package evidence stores evidence files encrypted on the local filesystem.
//
// A [Store] holds blobs: files encrypted with [crypto.NewEncryptWriter]
// under a fresh [crypto.FileKey] each, named by keys that the store hands
// out. Most callers need [NewStore] and [Store.Open] at startup, [Store.Put]
// to stream an upload in, and [Store.OpenBlob] to stream it back out. The
// store keeps no record of which blobs are in use and never sees a plaintext
// byte on disk: the caller keeps each blob's key and wrapped file key in the
// database, and collects orphans with [Store.ListBefore] and [Store.Delete].
//
// # Layout
//
// Blobs are records appended to segment files, not files of their own:
// creating, renaming and syncing a file and its directory for every upload
// costs several times the CPU of appending to a file that is already open.
//
//	<dir>/segments/<n>.seg       segment n, 8 lower-case hex digits
//	<dir>/<k0k1>/<key>           blobs of the earlier one-file-per-blob
//	                             layout, read and deleted but never written
//
// A process holds a pool of open segments. Each Put takes one for itself,
// appends one record at its end and gives it back, so concurrent uploads
// never share a segment and stream without a lock. A segment that has grown
// past [Store.SegmentSize] is sealed: closed, and never appended to again. A
// segment that a failed Put leaves without any record is closed and removed,
// so that aborted uploads leave neither files nor open descriptors behind.
//
// # Records
//
// Every record starts at a multiple of 4096 bytes and is padded with zeros
// to the next one:
//
//	magic "GRDNREC" || version 0x01 || id (8 random bytes)
//	  || ciphertext length (8 bytes) || completion time (8 bytes, Unix ns)
//	  || CRC-32C of the preceding 32 bytes (4 bytes) || 28 zero bytes
//	ciphertext (the encrypted stream of package crypto)
//	zeros to the next multiple of 4096
//
// Integers are big-endian. A blob's key is "<segment>-<offset>-<id>" in
// lower-case hex (8, 16 and 16 digits), for example
// "0000002a-0000000000014000-9f86d081884c7d65". The id makes the key name
// this record and no other: space that a deleted or interrupted record
// occupied may hold another record later, and a key bound to a wrapped file
// key (see [crypto.DataKey.WrapFileKey]) must not come to name it. Old-layout
// keys are 32 lower-case hex characters. Anything else is rejected, and only
// the parsed segment number ever reaches a path.
//
// # Durability
//
// Put writes the record's header with a length of zero, streams the
// ciphertext after it, writes the final header, and syncs the segment's data
// once. When Put returns, the record and its header are on disk: the blob
// survives a crash, and the caller may commit the row that refers to it. A
// crash before then leaves an incomplete record at the end of the segment,
// which the next Open truncates, or a complete record that no row refers to,
// which garbage collection removes; never a readable partial blob under a
// key, and the key of an unfinished record is never returned.
//
// Delete punches a hole over the whole record, so that the filesystem frees
// its blocks and the ciphertext is gone, not merely unreferenced; where the
// filesystem cannot punch holes it overwrites the record with zeros. Either
// way the change is synced before Delete returns. A sealed segment whose
// records have all been punched out is removed.
//
// Listing and recovery read a segment from its start: at each multiple of
// 4096 a valid header marks a record, to be skipped whole; anything else is
// skipped one block at a time, and punched holes are skipped with
// lseek(SEEK_DATA).
package evidence

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/internal/durable"
)

// DefaultMaxSize is the default limit on the plaintext size of one file.
const DefaultMaxSize int64 = 2 << 30

// ErrTooLarge is wrapped by the error of a [Store.Put] whose input exceeded
// the size limit. Nothing is stored; answer the client that the file is too
// large (guardian.EMALFORMEDFILE).
var ErrTooLarge = errors.New("file exceeds the size limit")

// Blob describes a blob just stored by [Store.Put].
type Blob struct {
	Key  string // names the blob in the store
	Size int64  // plaintext bytes
	// Lower-case hex digests of the plaintext.
	MD5, SHA1, SHA256 string
	// FileKey decrypts the blob. Store it only wrapped, with
	// [crypto.DataKey.WrapFileKey].
	FileKey *crypto.FileKey
}

// LogValue lists what identifies a blob; the file key stays out of logs in
// any case, as it redacts itself.
func (b *Blob) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("key", b.Key),
		slog.Int64("size", b.Size),
		slog.String("sha256", b.SHA256),
	)
}

// Store is an encrypted blob store in a local directory. Once opened it
// holds the segments it appends to open, until [Store.Close], and is safe
// for concurrent use.
type Store struct {
	dir string

	// SegmentSize is the size past which a segment is sealed. Set it
	// before Open; it defaults to 1 GiB. A smaller size frees the space of
	// deleted blobs sooner, since only an empty sealed segment is removed,
	// at the cost of more files.
	SegmentSize int64

	mu     sync.Mutex
	opened bool
	free   []*segment          // open segments that no Put holds
	open   map[uint32]*segment // every open segment, held or free
	next   uint32              // number of the next new segment
}

// segment is a segment file open for appending.
type segment struct {
	num uint32
	f   *os.File // nil only while Put creates the file
	// end is where the next record starts: the end of the last complete
	// record. A Put writes beyond it only while it holds the segment, and
	// sets it, under Store.mu, when it gives the segment back.
	end int64
}

// NewStore returns a store in dir. Call [Store.Open] before using it.
func NewStore(dir string) *Store {
	return &Store{dir: dir, SegmentSize: defaultSegmentSize}
}

const (
	defaultSegmentSize = 1 << 30
	segmentsDir        = "segments"
	segmentExt         = ".seg"

	blockSize  = 4096
	headerSize = 64
	magic      = "GRDNREC"
	version    = 0x01
	crcOffset  = 32 // the CRC covers the header bytes before it
	// maxLength bounds a record's ciphertext length, so that offset
	// arithmetic cannot overflow whatever a header says.
	maxLength = 1 << 56
	// maxOffset bounds a key's offset for the same reason.
	maxOffset = 1 << 60

	// seekData is lseek's SEEK_DATA, which package syscall does not name.
	seekData = 3
	// punchHole is FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE.
	punchHole = 0x02 | 0x01

	legacyKeyLen = 32 // hex characters: 128 random bits
	keyLen       = 8 + 1 + 16 + 1 + 16
	tmpDir       = "tmp" // the old layout's uploads in progress
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zeros pads records and stands in for punched holes. Never written to.
var zeros [crypto.ChunkSize]byte

// Open creates the store's directories if needed, with mode 0700, truncates
// records that a crash interrupted, and opens the segments that are not
// sealed for appending. It must be called before any Put, and not while
// another process uses the same directory, whose uploads in progress it
// would truncate.
func (s *Store) Open() (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened {
		return errors.New("open evidence store: already open")
	}
	if s.SegmentSize <= 0 {
		return fmt.Errorf("open evidence store: segment size %d", s.SegmentSize)
	}
	if err := mkdirSync(filepath.Join(s.dir, segmentsDir)); err != nil {
		return fmt.Errorf("open evidence store: %w", err)
	}
	// A temporary file of the old layout was never a blob: only a rename
	// made one. So any left there was an upload in progress when the
	// process stopped.
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open evidence store: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.dir, tmpDir, e.Name())); err != nil {
			return fmt.Errorf("open evidence store: remove interrupted upload: %w", err)
		}
	}

	nums, err := s.segmentNumbers()
	if err != nil {
		return fmt.Errorf("open evidence store: %w", err)
	}
	s.free, s.open, s.next = nil, map[uint32]*segment{}, 0
	defer func() {
		if err != nil {
			for _, seg := range s.free {
				seg.f.Close()
			}
			s.free, s.open = nil, nil
		}
	}()
	for _, num := range nums {
		seg, err := s.recoverSegment(num)
		if err != nil {
			return fmt.Errorf("open evidence store: segment %08x: %w", num, err)
		}
		if seg != nil {
			s.free = append(s.free, seg)
			s.open[num] = seg
		}
	}
	if len(nums) > 0 {
		last := nums[len(nums)-1]
		if last == math.MaxUint32 {
			return errors.New("open evidence store: segment numbers exhausted")
		}
		s.next = last + 1
	}
	s.opened = true
	return nil
}

// recoverSegment truncates segment num after its last complete record, and
// returns it open for appending, or nil if it is sealed.
func (s *Store) recoverSegment(num uint32) (_ *segment, err error) {
	f, err := os.OpenFile(s.segmentPath(num), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end, err := scan(context.Background(), f, fi.Size(), nil)
	if err != nil {
		return nil, err
	}
	// One Put at a time appends to a segment, so only its last record
	// can be incomplete. What follows the last complete record is what an
	// interrupted Put left (a header of length zero, part of a ciphertext,
	// or nothing recognisable) and the holes of deleted records; the ids
	// in keys keep those from naming what is written there next.
	if end < fi.Size() {
		if err := f.Truncate(end); err != nil {
			return nil, err
		}
		if err := fdatasync(f); err != nil {
			return nil, err
		}
	}
	if end >= s.SegmentSize {
		return nil, f.Close()
	}
	return &segment{num: num, f: f, end: end}, nil
}

// segmentNumbers returns the numbers of the segment files, in order.
func (s *Store) segmentNumbers() ([]uint32, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, segmentsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var nums []uint32
	for _, e := range entries {
		// Skip whatever the store did not write.
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || len(name) != 8 || !e.Type().IsRegular() {
			continue
		}
		if n, ok := parseHex(name); ok {
			nums = append(nums, uint32(n))
		}
	}
	return nums, nil // ReadDir sorts, and the names have a fixed length
}

// Close closes the segments the store holds open. Call it only once every
// Put has returned; afterwards Put fails until the store is opened again,
// while OpenBlob, Delete and List still work.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, seg := range s.free {
		errs = append(errs, seg.f.Close())
	}
	s.free, s.open, s.opened = nil, nil, false
	return errors.Join(errs...)
}

// take returns a segment that no other Put holds, creating one if all are
// held.
func (s *Store) take() (*segment, error) {
	s.mu.Lock()
	if !s.opened {
		s.mu.Unlock()
		return nil, errors.New("store not open")
	}
	if n := len(s.free); n > 0 {
		seg := s.free[n-1]
		s.free = s.free[:n-1]
		s.mu.Unlock()
		return seg, nil
	}
	if s.next == math.MaxUint32 {
		s.mu.Unlock()
		return nil, errors.New("segment numbers exhausted")
	}
	// Registered before the file exists, so that List, which reads the
	// directory before it looks here, never scans a segment being written.
	seg := &segment{num: s.next}
	s.next++
	s.open[seg.num] = seg
	s.mu.Unlock()

	f, err := os.OpenFile(s.segmentPath(seg.num), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.retire(seg)
		return nil, err
	}
	seg.f = f
	if err := durable.SyncDir(filepath.Join(s.dir, segmentsDir)); err != nil {
		s.retire(seg)
		os.Remove(f.Name())
		return nil, err
	}
	return seg, nil
}

// giveBack returns seg to the pool with its next record at end, or seals it,
// or closes it if the store was closed meanwhile.
func (s *Store) giveBack(seg *segment, end int64) {
	s.mu.Lock()
	seg.end = end
	if end < s.SegmentSize && s.opened {
		s.free = append(s.free, seg)
		s.mu.Unlock()
		return
	}
	delete(s.open, seg.num)
	s.mu.Unlock()
	// Every record in it is synced, so a failing close loses nothing.
	seg.f.Close()
}

// retire drops seg from the pool without sealing it, when its file could
// not be created, or a failed Put could not be cut off from it: the next Open
// truncates whatever follows its last complete record.
func (s *Store) retire(seg *segment) {
	s.mu.Lock()
	delete(s.open, seg.num)
	s.mu.Unlock()
	if seg.f != nil {
		seg.f.Close()
	}
}

// discard drops seg, which holds no record, from the pool and removes its
// file. Without this, every upload that fails while all segments are held
// would leave an empty segment and its open descriptor behind for the life
// of the process: many uploads aborted at once (a client that opens
// hundreds and drops them, or a hub that cuts them off) would pile up as
// many files and descriptors. The removal is not synced: if a crash undoes
// it, Open finds an empty segment, which is harmless.
func (s *Store) discard(seg *segment) {
	name := seg.f.Name()
	s.retire(seg)
	// Should the removal fail, Open reuses the empty file: nothing is lost.
	_ = os.Remove(name)
}

// bufPool holds Put's read buffers, so that many small uploads do not each
// allocate one.
var bufPool = sync.Pool{New: func() any { return new([crypto.ChunkSize]byte) }}

// Put reads r to its end and stores it as a new blob encrypted under a new
// file key, computing the size and digests on the way. Memory use is
// constant: the input passes through a fixed buffer and is encrypted before
// it is written.
//
// If r yields more than maxSize bytes, Put stops reading, stores nothing and
// returns an error wrapping [ErrTooLarge]; the rest of r is left unread. If
// ctx is done, Put stops between reads and returns ctx's error. Put cannot
// interrupt a Read that blocks: r should have its own deadline, as a request
// body does.
//
// When Put returns a blob, the blob is durable (see the package doc).
func (s *Store) Put(ctx context.Context, r io.Reader, maxSize int64) (*Blob, error) {
	if maxSize < 0 {
		return nil, fmt.Errorf("put blob: negative size limit %d", maxSize)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	fk, err := crypto.GenerateFileKey()
	if err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	seg, err := s.take()
	if err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	start := seg.end
	b, end, err := writeRecord(ctx, seg, r, maxSize, fk)
	if err != nil {
		// Nothing of a failed Put may stay, and the next record must
		// start where this one did. Records before it were synced by
		// their own Puts, so even after a write or sync error the
		// segment can take more once the failed record is cut off.
		if err := seg.f.Truncate(start); err != nil {
			s.retire(seg)
		} else if start == 0 {
			s.discard(seg)
		} else {
			s.giveBack(seg, start)
		}
		return nil, fmt.Errorf("put blob: %w", err)
	}
	s.giveBack(seg, end)
	return b, nil
}

// writeRecord appends one record to seg, which the caller holds, and
// returns where it ends.
func writeRecord(ctx context.Context, seg *segment, r io.Reader, maxSize int64, fk *crypto.FileKey) (_ *Blob, end int64, _ error) {
	start := seg.end
	var hb [headerSize]byte
	hdr := header{id: randomID()}
	hdr.marshal(&hb)
	if _, err := seg.f.WriteAt(hb[:], start); err != nil {
		return nil, 0, err
	}
	ow := io.NewOffsetWriter(seg.f, start+headerSize)
	ew, err := crypto.NewEncryptWriter(ow, fk)
	if err != nil {
		return nil, 0, err
	}
	closed := false
	defer func() {
		if !closed {
			// Close clears the writer's buffer of plaintext; the last
			// chunk it writes goes with the rest of the failed record.
			ew.Close()
		}
	}()
	hMD5, hSHA1, hSHA256 := md5.New(), sha1.New(), sha256.New()
	hashes := []hash.Hash{hMD5, hSHA1, hSHA256}
	buf := bufPool.Get().(*[crypto.ChunkSize]byte)
	defer func() {
		// Evidence must not linger in a buffer that another upload,
		// or a core dump, may see.
		clear(buf[:])
		bufPool.Put(buf)
	}()
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		n, rerr := r.Read(buf[:])
		if int64(n) > maxSize-size {
			return nil, 0, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, maxSize)
		}
		size += int64(n)
		for _, h := range hashes {
			h.Write(buf[:n])
		}
		if _, err := ew.Write(buf[:n]); err != nil {
			return nil, 0, err
		}
		if rerr == io.EOF {
			break
		} else if rerr != nil {
			return nil, 0, fmt.Errorf("read: %w", rerr)
		}
	}
	closed = true
	if err := ew.Close(); err != nil {
		return nil, 0, err
	}
	hdr.length, _ = ow.Seek(0, io.SeekCurrent)
	tail, end := start+headerSize+hdr.length, start+span(hdr.length)
	if _, err := seg.f.WriteAt(zeros[:end-tail], tail); err != nil {
		return nil, 0, err
	}
	// The completion time, not the start, is what ListBefore compares: an
	// upload may take hours, and its row commits only after Put returns.
	hdr.created = time.Now().UnixNano()
	hdr.marshal(&hb)
	if _, err := seg.f.WriteAt(hb[:], start); err != nil {
		return nil, 0, err
	}
	if err := fdatasync(seg.f); err != nil {
		return nil, 0, err
	}
	return &Blob{
		Key:     formatKey(seg.num, start, hdr.id),
		Size:    size,
		MD5:     hex.EncodeToString(hMD5.Sum(nil)),
		SHA1:    hex.EncodeToString(hSHA1.Sum(nil)),
		SHA256:  hex.EncodeToString(hSHA256.Sum(nil)),
		FileKey: fk,
	}, end, nil
}

// OpenBlob returns a reader of the plaintext of the blob key, decrypting it
// with fk as it is read. The reader returns an error rather than io.EOF if
// the blob was altered or truncated, or deleted while being read, or fk is
// not its key; a caller that must not act on a partial file reads to io.EOF
// first. If there is no such blob, the error wraps [fs.ErrNotExist].
func (s *Store) OpenBlob(key string, fk *crypto.FileKey) (io.ReadCloser, error) {
	var (
		f   *os.File
		src io.Reader
		err error
	)
	if validLegacyKey(key) {
		if f, err = os.Open(s.legacyPath(key)); err != nil {
			return nil, fmt.Errorf("open blob: %w", err)
		}
		src = f
	} else {
		num, off, id, ok := parseKey(key)
		if !ok {
			return nil, fmt.Errorf("open blob: invalid key %q", key)
		}
		if f, err = os.Open(s.segmentPath(num)); err != nil {
			return nil, fmt.Errorf("open blob: %w", err)
		}
		h, ok := readHeader(f, off)
		if !ok || h.length == 0 || h.id != id {
			f.Close()
			return nil, fmt.Errorf("open blob %s: %w", key, fs.ErrNotExist)
		}
		src = io.NewSectionReader(f, off+headerSize, h.length)
	}
	r, err := crypto.NewDecryptReader(src, fk)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	return &blobReader{Reader: r, f: f}, nil
}

type blobReader struct {
	io.Reader
	f *os.File
}

func (r *blobReader) Close() error { return r.f.Close() }

// Delete removes the blob key. Deleting a blob that does not exist succeeds,
// so that an interrupted clean-up can simply be repeated. The removal is
// durable when Delete returns.
func (s *Store) Delete(key string) error {
	if validLegacyKey(key) {
		return s.deleteLegacy(key)
	}
	num, off, id, ok := parseKey(key)
	if !ok {
		return fmt.Errorf("delete blob: invalid key %q", key)
	}
	f, err := os.OpenFile(s.segmentPath(num), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed when its last record was deleted
	} else if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	defer f.Close()
	if h, ok := readHeader(f, off); ok && h.length > 0 && h.id == id {
		if err := erase(f, off, span(h.length)); err != nil {
			return fmt.Errorf("delete blob: %w", err)
		}
	}
	// Sync even when the record was already gone: an earlier Delete may
	// have erased it and failed before its sync.
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	if err := s.removeIfEmpty(num, f); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// erase makes n bytes of f at off read as zeros, freeing their blocks if
// the filesystem can.
func erase(f *os.File, off, n int64) error {
	err := control(f, "fallocate", func(fd int) error {
		return syscall.Fallocate(fd, punchHole, off, n)
	})
	if !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.ENOSYS) {
		return err
	}
	for n > 0 {
		c := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:c], off); err != nil {
			return err
		}
		off += c
		n -= c
	}
	return nil
}

// removeIfEmpty removes segment num, open as f, if it is sealed and holds no
// record, so that deleted blobs do not leave files behind forever.
func (s *Store) removeIfEmpty(num uint32, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < s.SegmentSize {
		return nil
	}
	// Only an opened store knows which segments are still appended to.
	s.mu.Lock()
	_, appending := s.open[num]
	removable := s.opened && !appending
	s.mu.Unlock()
	if !removable {
		return nil
	}
	// With holes punched over every record, there is no data left at all.
	// Where holes cannot be punched, or SEEK_DATA is not supported, the
	// file stays: Open and List skip its zeros.
	if _, err := f.Seek(0, seekData); !errors.Is(err, syscall.ENXIO) {
		return nil
	}
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return durable.SyncDir(filepath.Join(s.dir, segmentsDir))
}

func (s *Store) deleteLegacy(key string) error {
	path := s.legacyPath(key)
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) {
			return nil // a store that never had this fan-out directory
		}
	} else if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	// Sync even when the blob was already gone: an earlier Delete may
	// have removed it and failed before its sync.
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// List returns the keys of all blobs, in order. It includes blobs that a Put
// has just stored and whose row the caller may not have committed yet; to
// find orphans to delete, use [Store.ListBefore].
func (s *Store) List(ctx context.Context) ([]string, error) {
	return s.list(ctx, time.Time{})
}

// ListBefore returns, in order, the keys of the blobs last written before t.
//
// A garbage collector should list blobs older than the longest time between
// a Put returning and its row committing (a few seconds; an hour is safe),
// then delete those that no row refers to. Listing every blob would race with
// uploads: a blob stored a moment ago has no row yet, and deleting it would
// lose a file that is about to be acknowledged.
func (s *Store) ListBefore(ctx context.Context, t time.Time) ([]string, error) {
	if t.IsZero() {
		return nil, errors.New("list blobs: zero time")
	}
	return s.list(ctx, t)
}

func (s *Store) list(ctx context.Context, before time.Time) ([]string, error) {
	nums, err := s.segmentNumbers()
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	// A segment that a Put holds is read only up to its last complete
	// record, so that a record being written is neither listed nor
	// scanned block by block.
	limits := map[uint32]int64{}
	s.mu.Lock()
	for num, seg := range s.open {
		limits[num] = seg.end
	}
	s.mu.Unlock()

	var keys []string
	for _, num := range nums {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list blobs: %w", err)
		}
		err := s.listSegment(ctx, num, limits, before, &keys)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since it was listed
		} else if err != nil {
			return nil, fmt.Errorf("list blobs: %w", err)
		}
	}
	if err := s.listLegacy(ctx, before, &keys); err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}

func (s *Store) listSegment(ctx context.Context, num uint32, limits map[uint32]int64, before time.Time, keys *[]string) error {
	f, err := os.Open(s.segmentPath(num))
	if err != nil {
		return err
	}
	defer f.Close()
	limit, ok := limits[num]
	if !ok {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		limit = fi.Size()
	}
	_, err = scan(ctx, f, limit, func(off int64, h *header) {
		if before.IsZero() || h.created < before.UnixNano() {
			*keys = append(*keys, formatKey(num, off, h.id))
		}
	})
	return err
}

// listLegacy appends the keys of the old layout's blobs.
func (s *Store) listLegacy(ctx context.Context, before time.Time, keys *[]string) error {
	dirs, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if _, ok := parseHex(d.Name()); !ok || len(d.Name()) != 2 || !d.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(s.dir, d.Name()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			// Skip whatever the store did not write: it is not a
			// blob, and a key made of it could not be deleted.
			name := e.Name()
			if !e.Type().IsRegular() || !validLegacyKey(name) || !strings.HasPrefix(name, d.Name()) {
				continue
			}
			if !before.IsZero() {
				fi, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted since ReadDir
				} else if err != nil {
					return err
				}
				if !fi.ModTime().Before(before) {
					continue
				}
			}
			*keys = append(*keys, name)
		}
	}
	return nil
}

// scan calls fn, if not nil, for each complete record of f that ends by
// limit, in order, and returns the end of the last one.
func scan(ctx context.Context, f *os.File, limit int64, fn func(off int64, h *header)) (end int64, err error) {
	canSeek := true
	for off, i := int64(0), 0; off < limit; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if canSeek {
			d, err := f.Seek(off, seekData)
			switch {
			case errors.Is(err, syscall.ENXIO):
				return end, nil // only a hole is left
			case err != nil:
				canSeek = false // read every block instead
			default:
				off = d &^ (blockSize - 1) // never before off, which is aligned
				if off >= limit {
					return end, nil
				}
			}
		}
		h, ok := readHeader(f, off)
		if ok && h.length > 0 && off+span(h.length) <= limit {
			if fn != nil {
				fn(off, &h)
			}
			off += span(h.length)
			end = off
			continue
		}
		off += blockSize
	}
	return end, nil
}

// header is a record's header; see the package doc.
type header struct {
	id      uint64
	length  int64 // of the ciphertext; 0 until the record is complete
	created int64 // Unix ns when the record was completed
}

func (h *header) marshal(b *[headerSize]byte) {
	*b = [headerSize]byte{}
	copy(b[:], magic)
	b[len(magic)] = version
	binary.BigEndian.PutUint64(b[8:], h.id)
	binary.BigEndian.PutUint64(b[16:], uint64(h.length))
	binary.BigEndian.PutUint64(b[24:], uint64(h.created))
	binary.BigEndian.PutUint32(b[crcOffset:], crc32.Checksum(b[:crcOffset], castagnoli))
}

// readHeader reads the header at off in f, and reports whether it is one.
func readHeader(f *os.File, off int64) (header, bool) {
	var b [headerSize]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return header{}, false
	}
	if string(b[:len(magic)]) != magic || b[len(magic)] != version ||
		binary.BigEndian.Uint32(b[crcOffset:]) != crc32.Checksum(b[:crcOffset], castagnoli) ||
		[headerSize - crcOffset - 4]byte(b[crcOffset+4:]) != [headerSize - crcOffset - 4]byte{} {
		return header{}, false
	}
	h := header{
		id:      binary.BigEndian.Uint64(b[8:]),
		length:  int64(binary.BigEndian.Uint64(b[16:])),
		created: int64(binary.BigEndian.Uint64(b[24:])),
	}
	if h.length < 0 || h.length > maxLength {
		return header{}, false
	}
	return h, true
}

// span returns the size of a record with n bytes of ciphertext, padding
// included.
func span(n int64) int64 {
	return (headerSize + n + blockSize - 1) &^ (blockSize - 1)
}

func randomID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

func formatKey(num uint32, off int64, id uint64) string {
	return fmt.Sprintf("%08x-%016x-%016x", num, off, id)
}

// parseKey parses a key that formatKey made. Keys come from the database
// and from callers, so it accepts nothing else: exactly one spelling of each
// key, and an offset at which a record may start.
func parseKey(key string) (num uint32, off int64, id uint64, ok bool) {
	if len(key) != keyLen || key[8] != '-' || key[25] != '-' {
		return 0, 0, 0, false
	}
	n, ok1 := parseHex(key[:8])
	o, ok2 := parseHex(key[9:25])
	i, ok3 := parseHex(key[26:])
	if !ok1 || !ok2 || !ok3 || o%blockSize != 0 || o > maxOffset {
		return 0, 0, 0, false
	}
	return uint32(n), int64(o), i, true
}

// parseHex parses up to 16 lower-case hex digits.
func parseHex(s string) (uint64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func (s *Store) segmentPath(num uint32) string {
	return filepath.Join(s.dir, segmentsDir, fmt.Sprintf("%08x%s", num, segmentExt))
}

func (s *Store) legacyPath(key string) string {
	return filepath.Join(s.dir, key[:2], key)
}

// validLegacyKey reports whether key is 32 lower-case hex characters. Such
// keys become paths, so nothing else may pass: no separators, no "..", no
// upper case that a case-insensitive filesystem would fold onto another key.
func validLegacyKey(key string) bool {
	if len(key) != legacyKeyLen {
		return false
	}
	_, ok1 := parseHex(key[:16])
	_, ok2 := parseHex(key[16:])
	return ok1 && ok2
}

// fdatasync makes f's data durable, and the metadata needed to read it such
// as its size, without the timestamps that a full fsync also writes.
func fdatasync(f *os.File) error {
	return durable.Fdatasync(f)
}

// control runs fn, the system call op, on f's descriptor.
func control(f *os.File, op string, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	if ferr != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: ferr}
	}
	return nil
}

// mkdirSync creates dir and any missing parents with mode 0700, syncing the
// parent of each directory it creates so that the new entries survive a
// crash.
func mkdirSync(dir string) error {
	dir = filepath.Clean(dir)
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return durable.SyncDir(parent)
}
