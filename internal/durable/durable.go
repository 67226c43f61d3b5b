// Package durable holds the file-system steps that make a change survive a
// crash, shared by the packages that write files of their own (keys,
// evidence segments, the SQLite group writer's WAL).
package durable

import (
	"io/fs"
	"os"
	"syscall"
)

// SyncDir makes the directory entries in dir durable: a file just created,
// linked or renamed into it, or removed from it. A file's own fsync does
// not cover its name.
func SyncDir(dir string) error {
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

// Fdatasync makes f's data durable, and the metadata needed to read it such
// as its size, without the timestamps that a full fsync also writes. It
// covers every write to the file, through any descriptor.
func Fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
