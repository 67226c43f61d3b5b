// Package durable holds the file-system steps that make a change survive a
// crash, shared by the packages that write files of their own (keys,
// evidence segments).
package durable

import "os"

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
