package knownhosts

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Marker is the marker at the start of a known_hosts line.
type Marker int

const (
	// MarkerNone is a plain line: the host's own key.
	MarkerNone Marker = iota
	// MarkerCA is "@cert-authority": the key of a CA trusted to sign
	// host certificates for the names on the line.
	MarkerCA
	// MarkerRevoked is "@revoked": a key, or a CA, never accepted for the names on
	// the line.
	MarkerRevoked
)

func (m Marker) String() string {
	switch m {
	case MarkerCA:
		return "@cert-authority"
	case MarkerRevoked:
		return "@revoked"
	}
	return ""
}

// Entry is one valid line of a known_hosts file.
type Entry struct {
	File   string // the file it was read from
	Line   int    // its line number, from 1
	Marker Marker
	Names  string // the names field as written: a pattern list or one hashed name
	Key    ssh.PublicKey
}

// Pos returns "file:line".
func (e *Entry) Pos() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// DB is the valid lines of a set of known_hosts files, in the order read.
// It is not changed after it is loaded and is safe for concurrent use.
type DB struct {
	entries []Entry
	files   []string
	skipped []error
}

// Load reads the known_hosts files at paths, in order. A file that does not
// exist, or cannot be read, is skipped, as OpenSSH skips it; [DB.Skipped]
// says why for those that exist. Lines that are not valid are skipped too
// (OpenSSH ignores them), so a file with no valid line holds no key, which
// means "unknown", not a failure. The error is always nil; it is there for
// future sources that can fail.
func Load(paths ...string) (*DB, error) {
	db := &DB{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			db.skipped = append(db.skipped, fmt.Errorf("knownhosts: %w", err))
			continue
		}
		db.files = append(db.files, p)
		db.entries = append(db.entries, Parse(p, b)...)
	}
	return db, nil
}

// Files returns the files that were read.
func (db *DB) Files() []string { return append([]string(nil), db.files...) }

// Skipped returns why the files that exist but could not be read were
// skipped.
func (db *DB) Skipped() []error { return append([]error(nil), db.skipped...) }

// Entries returns every valid line.
func (db *DB) Entries() []Entry { return append([]Entry(nil), db.entries...) }

// Parse returns the valid lines of a known_hosts file's content; file names
// it in the entries. A line is
//
//	[@cert-authority|@revoked] names keytype base64 [comment]
//
// Blank lines and lines starting with '#' are skipped, and so is every line
// OpenSSH would not use: an unknown or repeated marker, no key, a key type
// OpenSSH does not know, a key type that is not the key's own, bad base64,
// a malformed hashed name, an RSA key shorter than 1024 bits.
func Parse(file string, data []byte) []Entry {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if e, ok := parseLine(sc.Text()); ok {
			e.File, e.Line = file, n
			out = append(out, e)
		}
	}
	return out
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlanks(s string) string {
	for s != "" && isBlank(s[0]) {
		s = s[1:]
	}
	return s
}

// token returns s up to the first space or tab, and the rest.
func token(s string) (string, string) {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

func parseLine(line string) (Entry, bool) {
	var e Entry
	s := skipBlanks(line)
	if s == "" || s[0] == '#' {
		return e, false
	}
	// Markers: OpenSSH ends the marker at the line's first space, or, if
	// there is none, its first tab.
	for strings.HasPrefix(s, "@") {
		if e.Marker != MarkerNone {
			return e, false // only one marker
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = strings.IndexByte(s, '\t')
		}
		if end <= 1 || end >= 32 {
			return e, false
		}
		switch s[:end] {
		case "@cert-authority":
			e.Marker = MarkerCA
		case "@revoked":
			e.Marker = MarkerRevoked
		default:
			return e, false
		}
		s = skipBlanks(s[end:])
	}
	e.Names, s = token(s)
	if strings.HasPrefix(e.Names, "|") {
		if _, ok := hashSalt(e.Names); !ok {
			return e, false
		}
	}
	s = skipBlanks(s)
	if s == "" || s[0] == '#' {
		return e, false
	}
	keyType, s := token(s)
	s = skipBlanks(s)
	if s == "" {
		return e, false
	}
	blob, _ := token(s)
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return e, false
	}
	key, err := ssh.ParsePublicKey(raw)
	if err != nil {
		return e, false
	}
	want, ok := blobType(keyType)
	if !ok || key.Type() != want || shortRSA(key) {
		return e, false
	}
	e.Key = key
	return e, true
}

// blobType returns the key type that a key of the named type carries in
// its encoding, for the key type names OpenSSH 9.2 reads in known_hosts.
func blobType(name string) (string, bool) {
	switch name {
	case "rsa-sha2-256", "rsa-sha2-512":
		return ssh.KeyAlgoRSA, true
	case "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com":
		return ssh.CertAlgoRSAv01, true
	case "webauthn-sk-ecdsa-sha2-nistp256@openssh.com":
		return ssh.KeyAlgoSKECDSA256, true
	case ssh.KeyAlgoED25519, ssh.CertAlgoED25519v01,
		ssh.KeyAlgoSKED25519, ssh.CertAlgoSKED25519v01,
		ssh.KeyAlgoECDSA256, ssh.CertAlgoECDSA256v01,
		ssh.KeyAlgoECDSA384, ssh.CertAlgoECDSA384v01,
		ssh.KeyAlgoECDSA521, ssh.CertAlgoECDSA521v01,
		ssh.KeyAlgoSKECDSA256, ssh.CertAlgoSKECDSA256v01,
		ssh.KeyAlgoDSA, ssh.CertAlgoDSAv01,
		ssh.KeyAlgoRSA, ssh.CertAlgoRSAv01:
		return name, true
	}
	return "", false
}

// shortRSA reports whether key is an RSA key (or certificate) of fewer than
// 1024 bits, which OpenSSH refuses to load.
func shortRSA(key ssh.PublicKey) bool {
	if c, ok := key.(*ssh.Certificate); ok {
		key = c.Key
	}
	ck, ok := key.(ssh.CryptoPublicKey)
	if !ok {
		return false
	}
	r, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
	return ok && r.N.BitLen() < 1024
}

// Lookup returns the entries whose names match the lookup name (see
// [LookupName]), in file order.
func (db *DB) Lookup(name string) []Entry {
	var out []Entry
	for _, e := range db.entries {
		if m, _ := matchNames(name, e.Names); m {
			out = append(out, e)
		}
	}
	return out
}
