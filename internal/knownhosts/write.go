package knownhosts

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Line returns the line OpenSSH's accept-new writes for key under the
// lookup name: "name keytype base64\n", the name lowercased, no marker
// and no comment, or "|1|salt|hash keytype base64\n" with hash (the hash of
// the lowercased name, with a fresh salt). A certificate is written as its
// plain key.
func Line(name string, key ssh.PublicKey, hash bool) string {
	name = asciiLower(name)
	if hash {
		name = HashName(name)
	}
	k := plain(key)
	return name + " " + strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(k)), "\n") + "\n"
}

// CanRecord reports whether OpenSSH would record a key for a host of this
// name: it refuses names holding any of @ ? * # [ ] | ' " \ (the
// HostKeyAlias is not checked).
func CanRecord(hostName string) bool { return !strings.ContainsAny(hostName, "@?*#[]|'\"\\") }

// appendMu serialises Add within the process.
var appendMu sync.Mutex

// Add records key for host in the known_hosts file path, as accept-new
// does: the line of [Line] is appended, in one write to a file opened for
// appending (created with mode 0600, its directory with 0700), so that
// concurrent writers never interleave within a line.
//
// Add holds a process-wide lock while it reads path again and judges key
// under the host's lookup name there: if another caller recorded the same
// key meanwhile, nothing is written and the result is OK; if the file now
// holds another key for the name (Changed) or revokes it, nothing is written
// and that verdict is returned. Otherwise the line is appended and the
// result is New.
//
// Unlike OpenSSH 9.2, which appends right after the last byte and so joins
// the new entry to a last line that has no final newline (corrupting both),
// Add writes a newline first in that case, as OpenSSH 9.3 and later do.
func Add(path string, h Host, key ssh.PublicKey, hash bool) (Result, error) {
	appendMu.Lock()
	defer appendMu.Unlock()
	name := h.LookupName()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Result{}, fmt.Errorf("knownhosts: %w", err)
	}
	r := judge((&DB{entries: Parse(path, b)}).Lookup(name), plain(key))
	r.Name = name
	if r.Status != New {
		return r, nil
	}
	line := Line(name, key, hash)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		line = "\n" + line
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Result{}, fmt.Errorf("knownhosts: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return Result{}, fmt.Errorf("knownhosts: %w", err)
	}
	_, err = io.WriteString(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, fmt.Errorf("knownhosts: writing %s: %w", path, err)
	}
	return r, nil
}
