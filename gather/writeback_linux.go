//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package gather

import (
	"os"
	"syscall"
)

// writeBackSupported tells whether startWriteBack does anything here.
const writeBackSupported = true

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start write-out of the
// range's dirty pages without waiting for it.
const syncFileRangeWrite = 0x2

// startWriteBack starts the write-back of n bytes of f from off with
// sync_file_range(2) and reports whether the call succeeded.
func startWriteBack(f *os.File, off, n int64) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
	})
	return err == nil && errno == 0
}
