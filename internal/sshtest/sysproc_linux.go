package sshtest

import "syscall"

// sysProcAttr puts sshd in its own process group (so a terminal's ^C does
// not reach it), runs it as cred when set, and has the kernel kill it if
// this process dies without cleaning up.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: syscall.SIGKILL}
}
