package sshtransport

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"

	"dproc/internal/iox"
	"dproc/transport"
)

// errNoSFTP means the host has no sftp subsystem; files then move with cat.
var errNoSFTP = errors.New("no sftp subsystem")

// ErrNotRegular is wrapped by the error of [Transport.Checksum] for a path
// that exists on the host but is not a regular file (a directory, a
// device), which has no content to hash.
var ErrNotRegular = errors.New("not a regular file")

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
	// sumScript prints one line per file: its digest, or sumMissing,
	// or sumNotRegular. A missing sha256sum exits with status 127.
	sumScript = `for f do
if [ -f "$f" ]; then h=$(sha256sum < "$f") || exit; echo "${h%% *}"
elif [ -e "$f" ]; then echo ` + sumNotRegular + `
else echo ` + sumMissing + `; fi
done`
	sumMissing    = "-"
	sumNotRegular = "!"
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
// directories are created. See [transport.Transport.Put]. A path is read as
// by every file method: "~/x" is the home directory's x, a relative path is
// relative to the home directory, and "~user", "~" itself and "" are
// refused with an error matching [transport.ErrInvalid].
//
// Over SFTP, writes are pipelined (many requests in flight) whatever r is;
// on a host without the sftp subsystem, the data is streamed to cat.
func (t *Transport) Put(ctx context.Context, host, p string, r io.Reader, mode fs.FileMode) error {
	opErr := t.opErr(ctx, "put", host, p)
	if host == "" {
		return opErr(errEmptyHost)
	}
	hp, err := filePath(p)
	if err != nil {
		return opErr(err)
	}
	if mode == 0 {
		mode = 0o644
	}
	mode = mode.Perm()
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return opErr(err)
	}
	defer end()
	c, cl, err := t.fileConn(ctx, host)
	if err != nil {
		return opErr(err)
	}
	if cl == nil {
		err := t.Run(ctx, host, &transport.Command{
			Args:  []string{"/bin/sh", "-c", putScript, "sh", hp, fmt.Sprintf("%o", mode)},
			Stdin: r,
		})
		return unwrapOp(err, opErr)
	}
	return opErr(t.sftpErr(ctx, c, putSFTP(ctx, cl, hp, r, mode)))
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
	if d, ok := r.(iox.ReadDeadliner); ok {
		// A Read blocked in r ends when the call does.
		if stop, ok := iox.InterruptReads(ctx, d); ok {
			defer stop()
		}
	}
	_, err = f.ReadFromWithConcurrency(iox.NewContextReader(ctx, r), 0)
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
// on a host without the sftp subsystem. See [transport.Transport.Get]; p is
// read as Put reads it.
func (t *Transport) Get(ctx context.Context, host, p string, w io.Writer) error {
	opErr := t.opErr(ctx, "get", host, p)
	if host == "" {
		return opErr(errEmptyHost)
	}
	hp, err := filePath(p)
	if err != nil {
		return opErr(err)
	}
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return opErr(err)
	}
	defer end()
	c, cl, err := t.fileConn(ctx, host)
	if err != nil {
		return opErr(err)
	}
	if cl == nil {
		err := t.Run(ctx, host, &transport.Command{
			Args:   []string{"/bin/sh", "-c", catScript, "sh", hp},
			Stdout: w,
		})
		var ee *transport.ExitError
		if errors.As(err, &ee) && ee.Code == notExistStatus {
			return opErr(fs.ErrNotExist)
		}
		return unwrapOp(err, opErr)
	}
	f, err := cl.Open(hp)
	if err != nil {
		return opErr(t.sftpErr(ctx, c, err))
	}
	_, err = f.WriteTo(ctxWriter{ctx, w})
	f.Close()
	return opErr(t.sftpErr(ctx, c, err))
}

// Remove deletes p on host; a missing file is not an error. p is read as
// Put reads it.
func (t *Transport) Remove(ctx context.Context, host, p string) error {
	opErr := t.opErr(ctx, "remove", host, p)
	if host == "" {
		return opErr(errEmptyHost)
	}
	hp, err := filePath(p)
	if err != nil {
		return opErr(err)
	}
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return opErr(err)
	}
	defer end()
	c, cl, err := t.fileConn(ctx, host)
	if err != nil {
		return opErr(err)
	}
	if cl == nil {
		return unwrapOp(t.Run(ctx, host, &transport.Command{Args: []string{"rm", "-f", "--", hp}}), opErr)
	}
	err = cl.Remove(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return opErr(t.sftpErr(ctx, c, err))
}

// Checksum returns the lowercase hex SHA-256 digest of each file in paths
// on host, in order, with one sha256sum command; paths are read as Put
// reads them. As [transport.Checksummer] says, a missing file is "" in the
// result and not an error ([transport.Checksums] turns it into one matching
// [fs.ErrNotExist]); a path that exists but is not a regular file (a
// directory, say) fails the call with an error matching [ErrNotRegular]
// that names it. On a host without sha256sum
// ([transport.ErrCommandNotFound]) the files are fetched with Get and
// hashed here. No paths is no work: an empty result, without contacting
// the host.
func (t *Transport) Checksum(ctx context.Context, host string, paths []string) ([]string, error) {
	opErr := t.opErr(ctx, "checksum", host, "")
	if host == "" {
		return nil, opErr(errEmptyHost)
	}
	hps := make([]string, len(paths))
	for i, p := range paths {
		hp, err := filePath(p)
		if err != nil {
			return nil, t.opErr(ctx, "checksum", host, p)(err)
		}
		hps[i] = hp
	}
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return nil, opErr(err)
	}
	defer end()
	if len(paths) == 0 {
		return []string{}, nil
	}
	var out bytes.Buffer
	err = t.Run(ctx, host, &transport.Command{
		Args:   append([]string{"/bin/sh", "-c", sumScript, "sh"}, hps...),
		Stdout: &out,
	})
	if errors.Is(err, transport.ErrCommandNotFound) {
		return t.checksumByGet(ctx, host, paths, hps)
	}
	if err != nil {
		return nil, unwrapOp(err, opErr)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(paths) {
		return nil, opErr(fmt.Errorf("got %d lines for %d files", len(lines), len(paths)))
	}
	for i, l := range lines {
		switch l {
		case sumMissing:
			lines[i] = ""
		case sumNotRegular:
			return nil, t.opErr(ctx, "checksum", host, paths[i])(ErrNotRegular)
		}
	}
	return lines, nil
}

// checksumByGet hashes the files at hps (paths as the caller gave them)
// here, fetching each with Get; a missing file is "".
func (t *Transport) checksumByGet(ctx context.Context, host string, paths, hps []string) ([]string, error) {
	sums := make([]string, len(hps))
	for i, hp := range hps {
		h := sha256.New()
		err := t.Get(ctx, host, hp, h)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, unwrapOp(err, t.opErr(ctx, "checksum", host, paths[i]))
		}
		sums[i] = hex.EncodeToString(h.Sum(nil))
	}
	return sums, nil
}

// opErr returns the function that wraps an error of operation op on host
// (and path p, if any) for a call made with the caller's context ctx, as
// closedErr maps it.
func (t *Transport) opErr(ctx context.Context, op, host, p string) func(error) error {
	return func(err error) error {
		if err = t.closedErr(ctx, err); err == nil {
			return nil
		}
		return &transport.OpError{Op: op, Host: host, Path: p, Err: err}
	}
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
