// Package sealed writes the sealed package of a referral: what an agency may
// see of a referral, and its unlocked files, in one file encrypted to the
// agency's age keys, so that a partner needs nothing from Guardian to open
// it, only the age command-line tool and tar.
//
// [Write] is the one function. The hub calls it with the referral as the
// agency may see it (already redacted to the agreement's data scope) and
// the files the agency may open; it never decides what goes in.
//
// # The format, for a partner
//
// A package is an age file (https://age-encryption.org/v1) encrypted to
// every recipient listed for the agency in the network file. Inside is a
// tar archive (POSIX ustar, with PAX records for long or non-ASCII names):
//
//	referral.json            the referral, as the partner API returns it
//	files/                   a directory
//	files/001-photo.jpg      each file, numbered from 001 in report order
//	files/002-chat_log.txt
//	manifest.json            what the archive holds, with SHA-256 digests
//
// Open it with the secret key that matches one of the agency's recipients:
//
//	age -d -i agency-key.txt referral-123.age | tar x
//
// manifest.json comes last because its digests are computed while the
// files stream into the archive; it reads:
//
//	{
//	  "format": "guardian-sealed-package/1",
//	  "created": "2026-12-06T16:00:00Z",
//	  "referral": {"archivedName": "referral.json", "size": 1234, "sha256": "…"},
//	  "files": [
//	    {"id": "f1", "name": "photo.jpg", "archivedName": "files/001-photo.jpg",
//	     "size": 48213, "sha256": "…"}
//	  ]
//	}
//
// "name" is the file's name as the reporting service gave it; the archived
// name is made safe for any file system (see [SanitizeName]): no path
// separators, no "..", no control or invisible formatting characters, at
// most [MaxNameBytes] bytes. age already authenticates every byte; the
// digests are for the case file's chain of custody (compare with
// "sha256sum files/*").
//
// A package that stops early (the connection broke, or the hub found a file
// shorter or longer than its records say) has no final age chunk: age
// fails with "unexpected EOF" and a non-zero status, and tar with it. What
// tar extracted before the break is authentic (age checks every 64 KiB
// chunk) but incomplete, and manifest.json, written last, is missing: a
// truncated package cannot be mistaken for a complete one. Ask for it
// again.
//
// Classic recipients (age1…) open with any age since 1.0, including the
// Debian and Ubuntu package. Post-quantum recipients (age1pq1…) need age
// 1.3 or later; age refuses to mix the two kinds in one file, and so does
// the network file.
package sealed

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/guardian-network/guardian"
)

// Package is what goes into a sealed package.
type Package struct {
	// Referral is the referral as the agency may see it, as JSON. It is
	// archived as referral.json, indented.
	Referral json.RawMessage
	// Files are the files the agency may open, in the order to archive
	// them.
	Files []File
}

// File is one file of a [Package]. Its content is read once, through Open,
// while it is written: never held in memory.
type File struct {
	// ID is the hub's id of the file, recorded in the manifest.
	ID string
	// Name is the file's name as the reporting service gave it. It is
	// outside input: the archive uses [SanitizeName] of it.
	Name string
	// Size is the file's length in bytes. Open must yield exactly this
	// many, or Write fails.
	Size int64
	// Open returns the file's plaintext. Write closes it.
	Open func() (io.ReadCloser, error)
}

// Format names the version of the package layout, recorded in the
// manifest.
const Format = "guardian-sealed-package/1"

// Bounds on what one package may hold. They are far above any real
// referral, and stop a bug or a hostile report from making a package
// nobody can open.
const (
	MaxRecipients    = 64
	MaxFiles         = 10000
	MaxReferralBytes = 16 << 20
)

// Manifest is manifest.json.
type Manifest struct {
	Format   string         `json:"format"`
	Created  time.Time      `json:"created"`
	Referral ManifestEntry  `json:"referral"`
	Files    []ManifestFile `json:"files"`
}

// ManifestEntry describes one archived member.
type ManifestEntry struct {
	ArchivedName string `json:"archivedName"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
}

// ManifestFile describes one file of the referral.
type ManifestFile struct {
	ID   string `json:"id"`
	Name string `json:"name"` // as the reporting service gave it
	ManifestEntry
}

// Names of the archive's members.
const (
	ReferralName = "referral.json"
	FilesDir     = "files/"
	ManifestName = "manifest.json"
)

// maxManifestName bounds an original file name kept in the manifest.
const maxManifestName = 4096

// Write writes p as a sealed package to w, encrypted to recipients (age
// public keys, age1… or age1pq1…; every one must parse, and there must be
// at least one).
//
// Everything Write can check without reading a file it checks before
// writing a byte: the recipients, the referral JSON and the files' sizes
// and names. If it fails later (a file cannot be opened, or yields more or
// fewer bytes than its Size), w holds an incomplete package that age
// refuses to decrypt; the caller should discard it or break the
// connection, not retry into the same writer.
func Write(w io.Writer, recipients []string, p *Package) error {
	recs, err := parseRecipients(recipients)
	if err != nil {
		return err
	}
	if p == nil {
		return errors.New("sealed package: nil package")
	}
	var referral bytes.Buffer
	switch {
	case len(p.Referral) == 0:
		return errors.New("sealed package: no referral")
	case len(p.Referral) > MaxReferralBytes:
		return fmt.Errorf("sealed package: referral JSON is %d bytes, over %d", len(p.Referral), MaxReferralBytes)
	case !json.Valid(p.Referral):
		return errors.New("sealed package: referral is not valid JSON")
	}
	if err := json.Indent(&referral, p.Referral, "", "  "); err != nil {
		return fmt.Errorf("sealed package: indent referral: %w", err)
	}
	referral.WriteByte('\n')
	if len(p.Files) > MaxFiles {
		return fmt.Errorf("sealed package: %d files, over %d", len(p.Files), MaxFiles)
	}
	width := len(fmt.Sprint(len(p.Files)))
	width = max(width, 3)
	m := Manifest{Format: Format, Created: time.Now().UTC().Truncate(time.Second), Files: make([]ManifestFile, len(p.Files))}
	for i, f := range p.Files {
		if f.Size < 0 {
			return fmt.Errorf("sealed package: file %d (%q): negative size %d", i+1, guardian.Clip(f.ID, 64), f.Size)
		}
		if f.Open == nil {
			return fmt.Errorf("sealed package: file %d (%q): no content", i+1, guardian.Clip(f.ID, 64))
		}
		m.Files[i] = ManifestFile{
			ID:   guardian.Clip(f.ID, maxManifestName),
			Name: strings.ToValidUTF8(guardian.Clip(f.Name, maxManifestName), "\uFFFD"),
			ManifestEntry: ManifestEntry{
				ArchivedName: fmt.Sprintf("%s%0*d-%s", FilesDir, width, i+1, SanitizeName(f.Name)),
				Size:         f.Size,
			},
		}
	}

	aw, err := age.Encrypt(w, recs...)
	if err != nil {
		return fmt.Errorf("sealed package: encrypt: %w", err)
	}
	tw := tar.NewWriter(aw)
	m.Referral = ManifestEntry{ArchivedName: ReferralName, Size: int64(referral.Len()), SHA256: digest(referral.Bytes())}
	if err := writeMember(tw, ReferralName, referral.Bytes(), m.Created); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: FilesDir, Mode: 0o700, ModTime: m.Created}); err != nil {
		return fmt.Errorf("sealed package: write %s: %w", FilesDir, err)
	}
	for i := range p.Files {
		sum, err := writeFile(tw, &p.Files[i], m.Files[i].ArchivedName, m.Created)
		if err != nil {
			return fmt.Errorf("sealed package: file %d (%q): %w", i+1, guardian.Clip(p.Files[i].ID, 64), err)
		}
		m.Files[i].SHA256 = sum
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("sealed package: encode manifest: %w", err)
	}
	manifest = append(manifest, '\n')
	if err := writeMember(tw, ManifestName, manifest, m.Created); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("sealed package: close archive: %w", err)
	}
	// Only now is the final age chunk written: a package that failed
	// above cannot be decrypted to the end.
	if err := aw.Close(); err != nil {
		return fmt.Errorf("sealed package: finish encryption: %w", err)
	}
	return nil
}

// parseRecipients parses age public keys, refusing to echo anything that
// looks like a secret key.
func parseRecipients(ss []string) ([]age.Recipient, error) {
	if len(ss) == 0 {
		return nil, guardian.Errorf(guardian.ECONFLICT, "The agency has no age recipients in the network file, so no sealed package can be made for it.")
	}
	if len(ss) > MaxRecipients {
		return nil, fmt.Errorf("sealed package: %d recipients, over %d", len(ss), MaxRecipients)
	}
	recs := make([]age.Recipient, len(ss))
	pq := 0
	for i, s := range ss {
		var err error
		switch {
		case strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-"):
			// Never repeat it: the error may reach a log.
			return nil, fmt.Errorf("sealed package: recipient %d is an age secret key, not a public key", i+1)
		case strings.HasPrefix(s, "age1pq1"):
			recs[i], err = age.ParseHybridRecipient(s)
			pq++
		case strings.HasPrefix(s, "age1"):
			recs[i], err = age.ParseX25519Recipient(s)
		default:
			err = errors.New("not an age public key (age1… or age1pq1…)")
		}
		if err != nil {
			return nil, fmt.Errorf("sealed package: recipient %d: %w", i+1, err)
		}
	}
	if pq != 0 && pq != len(recs) {
		return nil, errors.New("sealed package: post-quantum (age1pq1…) and classic (age1…) recipients cannot be mixed")
	}
	return recs, nil
}

// writeMember writes a small member held in memory.
func writeMember(tw *tar.Writer, name string, b []byte, mtime time.Time) error {
	if err := tw.WriteHeader(fileHeader(name, int64(len(b)), mtime)); err != nil {
		return fmt.Errorf("sealed package: write %s: %w", name, err)
	}
	if _, err := tw.Write(b); err != nil {
		return fmt.Errorf("sealed package: write %s: %w", name, err)
	}
	return nil
}

// fileHeader is the header of a regular file. Mode 0600: the content is
// evidence, readable by the person who extracts it and nobody else.
func fileHeader(name string, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: mtime}
}

// writeFile streams one file into the archive, checking its length, and
// returns its SHA-256.
func writeFile(tw *tar.Writer, f *File, name string, mtime time.Time) (sum string, err error) {
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("open: %w", err)
	}
	defer func() {
		// A close error after a complete read still counts: the reader
		// may verify a tag or checksum only then.
		if cerr := rc.Close(); cerr != nil && err == nil {
			sum, err = "", fmt.Errorf("close: %w", cerr)
		}
	}()
	if err := tw.WriteHeader(fileHeader(name, f.Size, mtime)); err != nil {
		return "", fmt.Errorf("write header: %w", err)
	}
	h := sha256.New()
	n, err := io.CopyN(io.MultiWriter(tw, h), rc, f.Size)
	if errors.Is(err, io.EOF) {
		return "", fmt.Errorf("size mismatch: %d bytes recorded, content ended after %d", f.Size, n)
	} else if err != nil {
		return "", fmt.Errorf("copy: %w", err)
	}
	// The content must end here: a longer file is not the file whose size
	// (and digest) the hub recorded.
	var one [1]byte
	switch k, err := io.ReadFull(rc, one[:]); {
	case k > 0:
		return "", fmt.Errorf("size mismatch: %d bytes recorded, content is longer", f.Size)
	case err != nil && !errors.Is(err, io.EOF):
		return "", fmt.Errorf("read: %w", err)
	}
	return hexSum(h), nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
