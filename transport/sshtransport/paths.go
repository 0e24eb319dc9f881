package sshtransport

import (
	"fmt"
	"strings"

	"dproc/transport"
)

// hostPath reads p, a path on the host given to Put, Get, Remove, Checksum
// or as Command.Dir, as scp and rsync read it: "~" and "~/" are the home
// directory, returned as ".", and "~/x" is its entry x, returned as the
// relative "x" (every session and the SFTP server start in the home
// directory, so a relative path is the home's). Any other path is returned
// as it is. "~user" (another user's home) is refused with an error matching
// [transport.ErrInvalid]: a directory literally named "~user" is never what
// the caller meant, and which home it names is the host's business.
func hostPath(p string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	if p == "~" {
		return ".", nil
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if rest = strings.TrimLeft(rest, "/"); rest != "" {
			return rest, nil
		}
		return ".", nil
	}
	return "", fmt.Errorf("%w: path %q names another user's home directory, which is not supported", transport.ErrInvalid, p)
}

// filePath is hostPath for a path that must name a file: "", and the home
// directory itself ("~", "~/", "."), are refused with an error matching
// [transport.ErrInvalid], so that no file method acts on the home directory
// as a whole.
func filePath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: empty path", transport.ErrInvalid)
	}
	hp, err := hostPath(p)
	if err != nil {
		return "", err
	}
	if hp == "." {
		return "", fmt.Errorf("%w: path %q is the home directory, not a file", transport.ErrInvalid, p)
	}
	return hp, nil
}
