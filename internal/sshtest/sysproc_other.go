//go:build !linux

package sshtest

import "syscall"

// sysProcAttr is unused off Linux: Start returns ErrUnsupported first.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
