package pdq

import (
	"syscall"
	"unsafe"
)

// hugePages asks the kernel to back the memory of s with transparent huge
// pages, before it is first written. The index's arrays are hundreds of
// megabytes written once in a burst, and on a virtual machine faulting
// them in 4 KiB pages at a time cost more than building the index. It is
// advice: where the kernel does not allow it, nothing changes.
func hugePages[T any](s []T) {
	const page = 4096
	if cap(s) == 0 {
		return
	}
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < 2<<20 {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(s))
	// madvise needs a page-aligned start; the part before it stays as is.
	off := (page - uintptr(p)%page) % page
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, off)), size-off), syscall.MADV_HUGEPAGE)
}
