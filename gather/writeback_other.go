//go:build !(linux && (amd64 || arm64 || riscv64 || loong64 || s390x))

package gather

import "os"

// writeBackSupported tells whether startWriteBack does anything here.
const writeBackSupported = false

// startWriteBack does nothing on this system: the fsync before the rename
// writes the whole file.
func startWriteBack(*os.File, int64, int64) bool { return false }
