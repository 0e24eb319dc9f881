package localtransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dproc/internal/iox"
	"dproc/transport"
)

// waitDelay is how long Run waits, after its process exits or is killed, for
// the pipes to standard output and error to close (a background child may
// hold them open).
const waitDelay = 5 * time.Second

// Run runs cmd as a local process of host. See the package doc for how the
// program is found, its working directory and its environment.
func (t *Transport) Run(ctx context.Context, host string, cmd *transport.Command) error {
	if cmd != nil && cmd.Unread != nil {
		*cmd.Unread = -1
	}
	if err := cmd.Validate(); err != nil {
		return &transport.OpError{Op: "run", Host: host, Err: err}
	}
	home, octx, end, err := t.begin(ctx, "run", host, "")
	if err != nil {
		return err
	}
	defer end()
	if _, err := transport.HomeRel(cmd.Dir); err != nil {
		return &transport.OpError{Op: "run", Host: host, Err: err}
	}
	if err := t.run(octx, home, host, cmd); err != nil {
		return &transport.OpError{Op: "run", Host: host, Err: err}
	}
	return nil
}

func (t *Transport) run(ctx context.Context, home, host string, cmd *transport.Command) error {
	tail := &transport.Tail{}
	stdout, stderr := outputs(cmd.Stdout, cmd.Stderr, tail)
	exit := func(code int, signal string) error {
		return &transport.ExitError{Host: host, Command: cmd.String(), Code: code, Signal: signal, Stderr: tail.Bytes()}
	}
	// shellError reports a failure before the program starts the way a
	// shell would: a message on standard error and an exit status.
	shellError := func(code int, msg string) error {
		_, _ = io.WriteString(stderr, msg+"\n")
		return exit(code, "")
	}

	dir := home
	if cmd.Dir != "" {
		dir = resolve(home, cmd.Dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return shellError(2, fmt.Sprintf("cd: %s: No such file or directory", cmd.Dir))
	}
	env := append(os.Environ(), "HOME="+home, t.watcher.token)
	env = append(env, cmd.Env...)

	name, args := t.shell, []string{"-c", cmd.Shell}
	if cmd.Shell == "" {
		name, args = cmd.Args[0], cmd.Args[1:]
	}
	path, err := lookPath(name, dir, env)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return shellError(127, name+": command not found")
	case err != nil:
		return shellError(126, name+": Permission denied")
	}

	newCmd := func() *exec.Cmd {
		c := exec.CommandContext(ctx, path, args...)
		c.Args[0] = name
		c.Dir = dir
		c.Env = env
		c.Stdout = stdout
		c.Stderr = stderr
		// The command leads a process group of its own, and cancelling
		// kills the whole group, so children of a shell line die with it.
		// It also dies with this process: by its death signal at
		// once, and its group by the watcher (see the package doc).
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		setDeathSignal(c.SysProcAttr)
		c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
		c.WaitDelay = waitDelay
		return c
	}

	var c *exec.Cmd
	var in *stdinPump
	// The thread that starts the command must live until it has been
	// waited for: see lockThread.
	lockThread()
	defer unlockThread()
	t.watcher.ensure(t.shell)
	for try := 1; ; try++ {
		c = newCmd()
		in, err = startStdin(c, cmd.Stdin, cmd.Unread != nil)
		if err != nil {
			return transport.Lost(err)
		}
		err = c.Start()
		in.started(err == nil)
		// A program just written (a worker installed by Put) can be
		// briefly busy: another process forked at that moment holds a
		// copy of the writer's descriptor until it execs (Go issue
		// 22315). That passes within milliseconds; try again.
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || try == maxBusyTries {
			break
		}
		select {
		case <-time.After(time.Duration(try) * 5 * time.Millisecond):
		case <-ctx.Done():
			return ctxErr(ctx)
		}
	}
	if err == nil {
		pgid := c.Process.Pid
		t.watcher.add(pgid)
		err = c.Wait()
		t.watcher.remove(pgid)
	}
	if ctx.Err() != nil {
		in.abandon()
		if err != nil {
			return ctxErr(ctx)
		}
		return nil
	}
	if cmd.Unread != nil && c.Process != nil {
		*cmd.Unread = in.drain(ctx)
	}
	if inErr := in.wait(ctx); err == nil && inErr != nil {
		return fmt.Errorf("reading standard input: %w", inErr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		ws, ok := ee.Sys().(syscall.WaitStatus)
		switch {
		case !ok:
			return exit(ee.ExitCode(), "")
		case ws.Signaled():
			return exit(128+int(ws.Signal()), signalName(ws.Signal()))
		default:
			return exit(ws.ExitStatus(), "")
		}
	case c.Process == nil:
		// The program was found but could not be started.
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOEXEC) {
			return shellError(126, name+": cannot execute: "+err.Error())
		}
		return transport.Lost(err)
	default:
		// The command exited 0 but its output could not be copied,
		// or a background child kept the output open past waitDelay.
		return err
	}
}

// outputs returns the writers for the command's standard output and error:
// standard error always goes to tail too. When out and errOut are the same
// writer, writes to it are serialised, as os/exec does by sharing one pipe.
func outputs(out, errOut io.Writer, tail *transport.Tail) (stdout, stderr io.Writer) {
	if errOut == nil {
		return out, tail
	}
	if iox.SameWriter(out, errOut) {
		lw := iox.NewLockedWriter(out)
		return lw, io.MultiWriter(tail, lw)
	}
	return out, io.MultiWriter(tail, errOut)
}

// lookPath finds name as a shell would for a command run in dir with
// environment env: a name holding a slash is a path (relative to dir), and
// any other name is looked up in env's PATH. It returns an absolute path, or
// an error matching fs.ErrNotExist when nothing is found and fs.ErrPermission
// when only files that cannot be executed are.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, executable(p)
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	err := fs.ErrNotExist
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		switch e := executable(p); {
		case e == nil:
			return p, nil
		case errors.Is(e, fs.ErrPermission):
			err = e
		}
	}
	return "", err
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return &fs.PathError{Op: "exec", Path: p, Err: fs.ErrPermission}
	}
	return nil
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "ABRT", syscall.SIGALRM: "ALRM", syscall.SIGBUS: "BUS",
	syscall.SIGFPE: "FPE", syscall.SIGHUP: "HUP", syscall.SIGILL: "ILL",
	syscall.SIGINT: "INT", syscall.SIGKILL: "KILL", syscall.SIGPIPE: "PIPE",
	syscall.SIGQUIT: "QUIT", syscall.SIGSEGV: "SEGV", syscall.SIGTERM: "TERM",
	syscall.SIGTRAP: "TRAP", syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2",
	syscall.SIGXCPU: "XCPU", syscall.SIGXFSZ: "XFSZ",
}

// signalName returns the name of sig without "SIG", as SSH names signals.
func signalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return strconv.Itoa(int(sig))
}

// stdinPump copies a Command's Stdin to the process through a pipe of its
// own rather than os/exec's, because os/exec waits for that copy to end even
// after the process is gone and whatever the context says, so a Stdin that
// blocks would block Run forever; the pump is waited for too, but a
// cancelled context or Close ends the wait.
//
// A pump that counts (Command.Unread set) keeps the pipe's read end open in
// this process, so that once the process has exited, what it left in the
// pipe and what the pump still copies can be read and counted by drain.
type stdinPump struct {
	src     io.Reader
	r, w    *os.File
	count   bool
	done    chan struct{}
	readErr error // the first error from src other than EOF
}

// startStdin sets c.Stdin from src. An *os.File or nil is passed to the
// process as it is; any other reader is copied by a pump.
// maxBusyTries bounds the starts of a program that is busy (ETXTBSY).
const maxBusyTries = 8

func startStdin(c *exec.Cmd, src io.Reader, count bool) (*stdinPump, error) {
	p := &stdinPump{src: src, count: count && src != nil, done: make(chan struct{})}
	if f, ok := src.(*os.File); !p.count && ok || src == nil {
		if f != nil {
			c.Stdin = f
		}
		close(p.done)
		return p, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.r, p.w = r, w
	c.Stdin = r
	return p, nil
}

// started closes the parent's copy of the read end and, if the process
// started, begins copying.
func (p *stdinPump) started(ok bool) {
	if p.w == nil {
		return
	}
	if !p.count || !ok {
		_ = p.r.Close()
	}
	if !ok {
		_ = p.w.Close()
		close(p.done)
		return
	}
	go func() {
		defer close(p.done)
		defer p.w.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := p.src.Read(buf)
			if n > 0 {
				if _, werr := p.w.Write(buf[:n]); werr != nil {
					// The process closed its input or is gone:
					// what it did not read is dropped, as a
					// shell pipeline drops it.
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					p.readErr = err
				}
				return
			}
		}
	}()
}

// drain reads, once the process has exited by itself, what it left of its
// input: what remains in the pipe and the rest of Stdin, which the pump
// copies to its end. It returns the number of bytes, 0 without a Stdin, or
// -1 when ctx ends first or the pump does not count.
func (p *stdinPump) drain(ctx context.Context) int64 {
	switch {
	case p.src == nil:
		return 0
	case !p.count || p.r == nil:
		return -1
	}
	drained := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, p.r)
		drained <- n
	}()
	select {
	case n := <-drained:
		_ = p.r.Close()
		return n
	case <-ctx.Done():
		// Closing the read end ends the drain and the pump's write.
		_ = p.r.Close()
		return -1
	}
}

// wait ends the copy once the process has exited by itself: a pending write
// fails at once, and a pending Read of Stdin is waited for, so that Run has
// finished with Stdin when it returns (rule R4 of [transport.Transport]),
// unless ctx ends first (Run then returns early, and that one Read may end
// after it). It returns the error Stdin returned, if any.
func (p *stdinPump) wait(ctx context.Context) error {
	if p.w == nil {
		return nil
	}
	_ = p.w.Close()
	select {
	case <-p.done:
		return p.readErr
	case <-ctx.Done():
		return nil
	}
}

// abandon ends the copy without waiting for a pending read of Stdin.
func (p *stdinPump) abandon() {
	if p.w != nil {
		_ = p.w.Close()
		if p.count {
			_ = p.r.Close()
		}
	}
}
