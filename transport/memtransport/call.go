package memtransport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"dproc/internal/iox"
	"dproc/transport"
)

// maxChunk is the most bytes a stream moves in one step.
const maxChunk = 32 << 10

var errStreamClosed = errors.New("memtransport: stream closed: the command's Run has returned")

// call is one call of a Transport method on one host, between begin and end.
type call struct {
	t    *Transport
	h    *Host
	op   string
	path string // as the caller gave it, for errors
	rel  string // path with a leading "~" read (see transport.HomeRel)
	life *life  // the host's incarnation the call reached
}

// end finishes the call: it counts a failure and wraps err in an
// *transport.OpError naming the operation, the host and the path (a Run
// that exited non-zero is an OpError wrapping the *transport.ExitError, whose
// message is the ExitError's).
func (c *call) end(err error) error {
	defer c.t.calls.Done()
	if err == nil {
		return nil
	}
	c.h.countFailure(err)
	return &transport.OpError{Op: c.op, Host: c.h.name, Path: c.path, Err: err}
}

// check reports, without blocking, why the call must stop: its context
// ended, the Transport was closed, or the host died.
func (c *call) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.t.done:
		return transport.ErrClosed
	default:
	}
	if c.life.isDead() {
		return transport.Lost(ErrKilled)
	}
	return nil
}

// gate blocks while the host is frozen by Hang.
func (c *call) gate(ctx context.Context) error {
	for {
		if err := c.check(ctx); err != nil {
			return err
		}
		ch := c.h.hangChan()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
		case <-c.t.done:
		case <-c.life.dead:
		}
	}
}

// sleep waits for d, or until the call must stop.
func (c *call) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return c.check(ctx)
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	case <-c.t.done:
	case <-c.life.dead:
	}
	return c.check(ctx)
}

// throttle waits as long as moving n bytes takes at the host's bandwidth.
func (c *call) throttle(ctx context.Context, n int) error {
	bw := c.h.bandwidth()
	if bw <= 0 || n <= 0 {
		return c.check(ctx)
	}
	return c.sleep(ctx, time.Duration(int64(n)*int64(time.Second)/bw))
}

// chunk returns how many bytes a stream may move in one step.
func (c *call) chunk() int {
	bw := c.h.bandwidth()
	if bw <= 0 {
		return maxChunk
	}
	return int(min(max(bw/10, 1), maxChunk))
}

func (c *call) put(ctx context.Context, r io.Reader, mode fs.FileMode) error {
	if c.path == "" {
		return fmt.Errorf("%w: empty path", transport.ErrInvalid)
	}
	p := c.h.resolve("", c.rel)
	var buf bytes.Buffer
	b := make([]byte, maxChunk)
	for {
		if err := c.gate(ctx); err != nil {
			return err
		}
		n, err := r.Read(b[:c.chunk()])
		buf.Write(b[:n])
		c.h.addIn(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the data to put: %w", err)
		}
		if err := c.throttle(ctx, n); err != nil {
			return err
		}
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return err
	}
	return c.h.storeLocked(p, slices.Clip(buf.Bytes()), mode)
}

func (c *call) get(ctx context.Context, w io.Writer) error {
	if c.path == "" {
		return fmt.Errorf("%w: empty path", transport.ErrInvalid)
	}
	f, err := c.h.lookupFile(c.h.resolve("", c.rel))
	if err != nil {
		return err
	}
	data := f.data
	for len(data) > 0 {
		if err := c.gate(ctx); err != nil {
			return err
		}
		n := min(len(data), c.chunk())
		m, err := w.Write(data[:n])
		c.h.addOut(m)
		if err != nil {
			return err
		}
		data = data[m:]
		if err := c.throttle(ctx, m); err != nil {
			return err
		}
	}
	return c.check(ctx)
}

// run runs cmd in dir, cmd.Dir with a leading "~" read.
func (c *call) run(ctx context.Context, cmd *transport.Command, dir string) error {
	h := c.h
	dir = h.resolve("", dir)
	fn, args := c.t.command(h, cmd, dir)

	procCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var stdin io.Reader = strings.NewReader("")
	if cmd.Stdin == nil && cmd.Unread != nil {
		*cmd.Unread = 0
	}
	var pr *io.PipeReader
	var copied chan struct{}
	if cmd.Stdin != nil {
		var pw *io.PipeWriter
		pr, pw = io.Pipe()
		copied = make(chan struct{})
		go func() {
			defer close(copied)
			_, err := io.Copy(pw, cmd.Stdin)
			pw.CloseWithError(err)
		}()
		stdin = pr
	}

	cut := make(chan struct{})
	var cutOnce sync.Once
	outMu, errMu := new(sync.Mutex), new(sync.Mutex)
	if iox.SameWriter(cmd.Stdout, cmd.Stderr) {
		errMu = outMu
	}
	tail := &transport.Tail{}
	stdout := &outStream{c: c, ctx: procCtx, mu: outMu, w: orDiscard(cmd.Stdout),
		limit: h.takeCut(), cut: func() { cutOnce.Do(func() { close(cut) }) }}
	stderr := &outStream{c: c, ctx: procCtx, mu: errMu, w: orDiscard(cmd.Stderr), tail: tail, limit: -1}
	p := &Process{
		Host:   h.name,
		Args:   slices.Clone(args),
		Shell:  cmd.Shell,
		Dir:    dir,
		Env:    append(baseEnv(h, dir), cmd.Env...),
		Stdin:  &inStream{c: c, ctx: procCtx, r: stdin},
		Stdout: stdout,
		Stderr: stderr,
		h:      h,
	}

	h.addRunning(1)
	defer h.addRunning(-1)
	exited := make(chan int, 1)
	go func() { exited <- fn(procCtx, p) }()
	code, finished := 0, false
	select {
	case code = <-exited:
		finished = true
	case <-ctx.Done():
	case <-c.t.done:
	case <-c.life.dead:
	case <-cut:
	}
	cancel()
	stdout.finish()
	stderr.finish()
	if pr != nil && finished && cmd.Unread != nil {
		// Count what the process left: read the rest of Stdin to its
		// end, unless the call must stop.
		drained := make(chan int64, 1)
		go func() {
			n, _ := io.Copy(io.Discard, pr)
			drained <- n
		}()
		select {
		case n := <-drained:
			*cmd.Unread = n
		case <-ctx.Done():
		case <-c.t.done:
		case <-c.life.dead:
		}
	}
	if pr != nil {
		pr.CloseWithError(errStreamClosed)
		if finished {
			// As os/exec does, wait for the copy of Stdin to end
			// (it ends at its next Read), unless the call must stop.
			select {
			case <-copied:
			case <-ctx.Done():
			case <-c.t.done:
			case <-c.life.dead:
			}
		}
	}

	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.t.done:
		return transport.ErrClosed
	case <-cut:
		return transport.Lost(ErrCut)
	case <-c.life.dead:
		return transport.Lost(ErrKilled)
	default:
	}
	if code == 0 {
		return nil
	}
	return &transport.ExitError{Host: h.name, Command: cmd.String(), Code: code, Stderr: tail.Bytes()}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// inStream is a command's standard input.
type inStream struct {
	c   *call
	ctx context.Context
	r   io.Reader
}

func (s *inStream) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if err := s.c.gate(s.ctx); err != nil {
		return 0, err
	}
	n := min(len(b), s.c.chunk())
	if left := s.c.h.stdinAllowance(); left > 0 && int64(n) > left {
		n = int(left)
	}
	m, err := s.r.Read(b[:n])
	if m > 0 {
		s.c.h.consumeStdin(m)
		// An interrupted wait shows at the next Read.
		_ = s.c.throttle(s.ctx, m)
	}
	return m, err
}

// outStream is a command's standard output or error. Writes go through to
// the caller's writer until the Run returns.
type outStream struct {
	c     *call
	ctx   context.Context
	mu    *sync.Mutex // shared by stdout and stderr when they are one writer
	w     io.Writer
	tail  *transport.Tail // stderr only
	done  bool
	limit int64  // bytes left before the stream is cut; <0: no limit
	cut   func() // called when the stream is cut
}

func (s *outStream) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		if err := s.c.gate(s.ctx); err != nil {
			return written, err
		}
		n := min(len(b), s.c.chunk())
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			return written, errStreamClosed
		}
		cutNow := false
		if s.limit >= 0 && int64(n) > s.limit {
			n, cutNow = int(s.limit), true
		}
		var m int
		var err error
		if n > 0 {
			m, err = s.w.Write(b[:n])
			if s.tail != nil {
				s.tail.Write(b[:m])
			}
		}
		if s.limit >= 0 {
			s.limit -= int64(m)
		}
		s.mu.Unlock()
		s.c.h.addOut(m)
		written += m
		b = b[m:]
		switch {
		case err != nil:
			return written, err
		case cutNow:
			s.cut()
			return written, transport.Lost(ErrCut)
		}
		_ = s.c.throttle(s.ctx, m) // an interrupted wait shows at the next step
	}
	return written, nil
}

// finish makes later writes fail; it waits for a write in progress.
func (s *outStream) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
}
