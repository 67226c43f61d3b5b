//go:build !linux

package pdq

// hugePages is a no-op outside Linux.
func hugePages[T any](s []T) {}
