package sshtransport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"

	"dproc/transport"
)

// errNoSFTP means the host has no sftp subsystem; files then move with cat.
var errNoSFTP = errors.New("no sftp subsystem")

// notExistStatus is the exit status of catScript for a missing file.
const notExistStatus = 66

const (
	putScript = `set -e
case $1 in */*) d=${1%/*}; [ -n "$d" ] || d=/ ;; *) d=. ;; esac
mkdir -p -- "$d"
t="$d/.${1##*/}.dproc-$$"
trap 'rm -f -- "$t"' EXIT
trap 'exit 1' HUP INT TERM PIPE
cat > "$t"
chmod "$2" "$t"
mv -f -- "$t" "$1"
trap - EXIT`
	catScript = `[ -e "$1" ] || exit 66
exec cat -- "$1"`
	sumScript = `for f do
if [ -f "$f" ]; then h=$(sha256sum < "$f") || exit 1; echo "${h%% *}"; else echo; fi
done`
)

// sftpClient returns c's SFTP client, starting it on first use (it takes
// the session slot kept free for it), or errNoSFTP.
func (c *conn) sftpClient() (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	if c.noSFTP {
		return nil, errNoSFTP
	}
	s, err := c.client.NewSession()
	if err != nil {
		return nil, c.lostErr(err)
	}
	w, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, c.lostErr(err)
	}
	r, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, c.lostErr(err)
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		s.Close()
		if c.alive() {
			c.noSFTP = true
			return nil, errNoSFTP
		}
		return nil, c.lostErr(err)
	}
	cl, err := sftp.NewClientPipe(r, w, sftp.UseConcurrentWrites(true), sftp.UseConcurrentReads(true))
	if err != nil {
		s.Close()
		if c.alive() {
			// The subsystem exists but does not speak SFTP.
			c.noSFTP = true
			return nil, errNoSFTP
		}
		return nil, c.lostErr(err)
	}
	if !c.alive() {
		// fail ran meanwhile and could not see this client.
		cl.Close()
		s.Close()
		return nil, c.lostErr(errors.New("connection closed"))
	}
	c.sftp, c.sftpSess = cl, s
	return cl, nil
}

// sftpErr maps an error from an SFTP operation on c.
func (t *Transport) sftpErr(ctx context.Context, c *conn, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case t.isClosed():
		return transport.ErrClosed
	case !c.alive():
		return c.lostErr(err)
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, io.ErrUnexpectedEOF):
		// The sftp-server went away but the connection lives: start a
		// new one next time.
		c.dropSFTP()
		return c.lostErr(err)
	}
	return err
}

// dropSFTP closes c's SFTP client, if any.
func (c *conn) dropSFTP() {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftpSess.Close()
		c.sftp, c.sftpSess = nil, nil
	}
}

// fileConn returns a connection to host and its SFTP client (nil when the
// host has no sftp subsystem).
func (t *Transport) fileConn(ctx context.Context, host string) (*conn, *sftp.Client, error) {
	if t.isClosed() {
		return nil, nil, transport.ErrClosed
	}
	c, err := t.pool(host).acquire(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.sftpClient()
	if errors.Is(err, errNoSFTP) {
		return c, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return c, cl, nil
}

// Put writes r to p on host atomically: into a temporary file in the same
// directory, which is then given mode and renamed over p. Missing parent
// directories are created. See [transport.Transport.Put].
//
// Over SFTP, writes are pipelined (many requests in flight) whatever r is;
// on a host without the sftp subsystem, the data is streamed to cat.
func (t *Transport) Put(ctx context.Context, host, p string, r io.Reader, mode fs.FileMode) error {
	opErr := func(err error) error {
		if err == nil {
			return nil
		}
		return &transport.OpError{Op: "put", Host: host, Path: p, Err: err}
	}
	if host == "" {
		return opErr(errEmptyHost)
	}
	if p == "" {
		return opErr(fmt.Errorf("%w: empty path", transport.ErrInvalid))
	}
	if mode == 0 {
		mode = 0o644
	}
	mode = mode.Perm()
	c, cl, err := t.fileConn(ctx, host)
	if err != nil {
		return opErr(err)
	}
	if cl == nil {
		err := t.Run(ctx, host, &transport.Command{
			Args:  []string{"/bin/sh", "-c", putScript, "sh", p, fmt.Sprintf("%o", mode)},
			Stdin: r,
		})
		return unwrapOp(err, opErr)
	}
	return opErr(t.sftpErr(ctx, c, putSFTP(ctx, cl, p, r, mode)))
}

func putSFTP(ctx context.Context, cl *sftp.Client, p string, r io.Reader, mode fs.FileMode) error {
	dir := path.Dir(p)
	if dir != "." && dir != "/" {
		if err := cl.MkdirAll(dir); err != nil {
			return err
		}
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(dir, "."+path.Base(p)+".dproc-"+hex.EncodeToString(rnd[:]))
	f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	_, err = f.ReadFromWithConcurrency(ctxReader{ctx, r}, 0)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = cl.PosixRename(tmp, p); err != nil {
			// Servers without posix-rename@openssh.com.
			if cl.Rename(tmp, p) == nil {
				err = nil
			}
		}
	}
	if err != nil {
		cl.Remove(tmp)
	}
	return err
}

// Get copies p on host into w, over SFTP with pipelined reads, or with cat
// on a host without the sftp subsystem. See [transport.Transport.Get].
func (t *Transport) Get(ctx context.Context, host, p string, w io.Writer) error {
	opErr := func(err error) error {
		if err == nil {
			return nil
		}
		return &transport.OpError{Op: "get", Host: host, Path: p, Err: err}
	}
	if host == "" {
		return opErr(errEmptyHost)
	}
	if p == "" {
		return opErr(fmt.Errorf("%w: empty path", transport.ErrInvalid))
	}
	c, cl, err := t.fileConn(ctx, host)
	if err != nil {
		return opErr(err)
	}
	if cl == nil {
		err := t.Run(ctx, host, &transport.Command{
			Args:   []string{"/bin/sh", "-c", catScript, "sh", p},
			Stdout: w,
		})
		var ee *transport.ExitError
		if errors.As(err, &ee) && ee.Code == notExistStatus {
			return opErr(fs.ErrNotExist)
		}
		return unwrapOp(err, opErr)
	}
	f, err := cl.Open(p)
	if err != nil {
		return opErr(t.sftpErr(ctx, c, err))
	}
	_, err = f.WriteTo(ctxWriter{ctx, w})
	f.Close()
	return opErr(t.sftpErr(ctx, c, err))
}

// Remove deletes p on host; a missing file is not an error.
func (t *Transport) Remove(ctx context.Context, host, p string) error {
	opErr := func(err error) error {
		if err == nil {
			return nil
		}
		return &transport.OpError{Op: "remove", Host: host, Path: p, Err: err}
	}
	if host == "" {
		return opErr(errEmptyHost)
	}
	c, cl, err := t.fileConn(ctx, host)
	if err != nil {
		return opErr(err)
	}
	if cl == nil {
		return unwrapOp(t.Run(ctx, host, &transport.Command{Args: []string{"rm", "-f", "--", p}}), opErr)
	}
	err = cl.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return opErr(t.sftpErr(ctx, c, err))
}

// Checksum returns the SHA-256 of each file in paths on host ("" for a
// missing one), with one sha256sum command.
func (t *Transport) Checksum(ctx context.Context, host string, paths []string) ([]string, error) {
	if len(paths) == 0 {
		if t.isClosed() {
			return nil, &transport.OpError{Op: "checksum", Host: host, Err: transport.ErrClosed}
		}
		return []string{}, nil
	}
	var out bytes.Buffer
	err := t.Run(ctx, host, &transport.Command{
		Args:   append([]string{"/bin/sh", "-c", sumScript, "sh"}, paths...),
		Stdout: &out,
	})
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(paths) {
		return nil, &transport.OpError{Op: "checksum", Host: host,
			Err: fmt.Errorf("got %d lines for %d files", len(lines), len(paths))}
	}
	return lines, nil
}

// unwrapOp re-labels an *OpError from Run with the caller's operation.
func unwrapOp(err error, opErr func(error) error) error {
	if err == nil {
		return nil
	}
	var oe *transport.OpError
	if errors.As(err, &oe) {
		return opErr(oe.Err)
	}
	return opErr(err)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
