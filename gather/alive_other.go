//go:build !unix

package gather

// processAlive cannot tell a dead process from a live one on this system,
// so it says every process is alive and no temporary file is removed.
func processAlive(pid int) bool { return true }
