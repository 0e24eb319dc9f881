package transport

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
)

// File is one file to install in a directory on a host, as
// dproc/nodeops.Install and a dispatch Job's Setup do.
type File struct {
	// Path is where the file goes, relative to the directory it is
	// installed in; it must stay inside it (no ".." element, not
	// absolute, no leading "~").
	Path string
	// Mode holds the permission bits (setuid, setgid and sticky
	// included); 0 means 0644.
	Mode fs.FileMode
	// Data is the file's content.
	Data []byte
}

// Sum returns the lowercase hex SHA-256 digest of f.Data.
func (f File) Sum() string {
	s := sha256.Sum256(f.Data)
	return hex.EncodeToString(s[:])
}
