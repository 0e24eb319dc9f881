//go:build unix

package dispatch

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f (flock(2)) without
// waiting: errLocked when another open file holds it, in this process or
// another. Closing f releases it, and so does the end of the process, even
// by SIGKILL, so a killed run never leaves its journal locked.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
