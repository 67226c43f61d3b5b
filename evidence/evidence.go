// Package evidence stores evidence files encrypted on the local filesystem.
//
// A [Store] holds blobs: files encrypted with [crypto.NewEncryptWriter]
// under a fresh [crypto.FileKey] each, named by random keys. Most callers
// need [NewStore] and [Store.Open] at startup, [Store.Put] to stream an
// upload in, and [Store.OpenBlob] to stream it back out. The store keeps no
// record of which blobs are in use and never sees a plaintext byte on disk:
// the caller keeps each blob's key and wrapped file key in the database, and
// collects orphans with [Store.ListBefore] and [Store.Delete].
//
// # Durability
//
// When Put returns, the blob is synced and its name is in a synced directory:
// it survives a crash, and the caller may commit the row that refers to it.
// A crash before then leaves a temporary file, which the next Open removes,
// or a complete blob that no row refers to, which garbage collection removes;
// never a partly written blob under a blob key.
//
// # Layout
//
//	<dir>/tmp/put-<random>       uploads in progress
//	<dir>/<k0k1>/<key>           blobs, fanned out by the first two characters
//	                             of the key so that no directory grows huge
//
// Keys are 32 lower-case hex characters; anything else is rejected before it
// reaches a path.
package evidence

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/guardian-network/guardian/crypto"
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

// Store is an encrypted blob store in a local directory. It holds no open
// files between calls and is safe for concurrent use once opened.
type Store struct {
	dir string
}

// NewStore returns a store in dir. Call [Store.Open] before using it.
func NewStore(dir string) *Store {
	return &Store{dir: dir}
}

const (
	keyLen    = 32 // hex characters: 128 random bits
	tmpDir    = "tmp"
	tmpPrefix = "put-"
)

// Open creates the store's directories if needed, with mode 0700, and removes
// uploads that a crash interrupted. It must be called before any Put, and not
// while another process uses the same directory, whose uploads in progress it
// would remove.
func (s *Store) Open() error {
	if err := mkdirSync(s.dir); err != nil {
		return fmt.Errorf("open evidence store: %w", err)
	}
	// Creating all 256 fan-out directories up front means Put never has to
	// create one and then sync its parent.
	created := false
	for _, name := range append(fanOutDirs(), tmpDir) {
		err := os.Mkdir(filepath.Join(s.dir, name), 0o700)
		if err == nil {
			created = true
		} else if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("open evidence store: %w", err)
		}
	}
	if created {
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("open evidence store: %w", err)
		}
	}
	// A temporary file is never a blob: only a rename makes one. So any
	// left here was an upload in progress when the process stopped.
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil {
		return fmt.Errorf("open evidence store: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.dir, tmpDir, e.Name())); err != nil {
			return fmt.Errorf("open evidence store: remove interrupted upload: %w", err)
		}
	}
	return nil
}

func fanOutDirs() []string {
	dirs := make([]string, 256)
	for i := range dirs {
		dirs[i] = hex.EncodeToString([]byte{byte(i)})
	}
	return dirs
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
func (s *Store) Put(ctx context.Context, r io.Reader, maxSize int64) (_ *Blob, err error) {
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
	f, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	ew, err := crypto.NewEncryptWriter(f, fk)
	if err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
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
			return nil, fmt.Errorf("put blob: %w", err)
		}
		n, rerr := r.Read(buf[:])
		if int64(n) > maxSize-size {
			return nil, fmt.Errorf("put blob: %w (limit %d bytes)", ErrTooLarge, maxSize)
		}
		size += int64(n)
		for _, h := range hashes {
			h.Write(buf[:n])
		}
		if _, err := ew.Write(buf[:n]); err != nil {
			return nil, fmt.Errorf("put blob: %w", err)
		}
		if rerr == io.EOF {
			break
		} else if rerr != nil {
			return nil, fmt.Errorf("put blob: read: %w", rerr)
		}
	}
	if err := ew.Close(); err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	key := newKey()
	final := s.path(key)
	if err := os.Rename(f.Name(), final); err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		// The blob may or may not survive a crash; a caller that
		// sees an error will not refer to it, so it must go.
		os.Remove(final)
		return nil, fmt.Errorf("put blob: %w", err)
	}
	return &Blob{
		Key:     key,
		Size:    size,
		MD5:     hex.EncodeToString(hMD5.Sum(nil)),
		SHA1:    hex.EncodeToString(hSHA1.Sum(nil)),
		SHA256:  hex.EncodeToString(hSHA256.Sum(nil)),
		FileKey: fk,
	}, nil
}

// OpenBlob returns a reader of the plaintext of the blob key, decrypting it
// with fk as it is read. The reader returns an error rather than io.EOF if
// the blob was altered or truncated, or fk is not its key; a caller that must
// not act on a partial file reads to io.EOF first. If there is no such blob,
// the error wraps [fs.ErrNotExist].
func (s *Store) OpenBlob(key string, fk *crypto.FileKey) (io.ReadCloser, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("open blob: invalid key %q", key)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	r, err := crypto.NewDecryptReader(f, fk)
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
	if !validKey(key) {
		return fmt.Errorf("delete blob: invalid key %q", key)
	}
	path := s.path(key)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	// Sync even when the blob was already gone: an earlier Delete may
	// have removed it and failed before its sync.
	if err := syncDir(filepath.Dir(path)); err != nil {
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
	var keys []string
	for _, d := range fanOutDirs() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list blobs: %w", err)
		}
		entries, err := os.ReadDir(filepath.Join(s.dir, d))
		if err != nil {
			return nil, fmt.Errorf("list blobs: %w", err)
		}
		for _, e := range entries {
			// Skip whatever the store did not write: it is not a
			// blob, and a key made of it could not be deleted.
			name := e.Name()
			if !e.Type().IsRegular() || !validKey(name) || !strings.HasPrefix(name, d) {
				continue
			}
			if !before.IsZero() {
				fi, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted since ReadDir
				} else if err != nil {
					return nil, fmt.Errorf("list blobs: %w", err)
				}
				if !fi.ModTime().Before(before) {
					continue
				}
			}
			keys = append(keys, name)
		}
	}
	return keys, nil
}

func (s *Store) path(key string) string {
	return filepath.Join(s.dir, key[:2], key)
}

func newKey() string {
	var b [keyLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validKey reports whether key is 32 lower-case hex characters. Keys become
// paths, so nothing else may pass: no separators, no "..", no upper case
// that a case-insensitive filesystem would fold onto another key.
func validKey(key string) bool {
	if len(key) != keyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
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
	return syncDir(parent)
}

// syncDir makes the directory entries in dir durable, such as a file just
// renamed into it or removed from it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
