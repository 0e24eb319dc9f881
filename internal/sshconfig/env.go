package sshconfig

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Env is what resolution takes from the local system. [CurrentEnv] fills it
// as ssh would see it; tests may fill it by hand.
type Env struct {
	// User is the local user's passwd name (%u, Match localuser, the
	// default remote user).
	User string
	// UID is the local user's id (%i).
	UID int
	// Home is the local user's passwd home directory (%d, "~"), which
	// OpenSSH takes from the passwd entry, not from $HOME.
	Home string
	// Hostname is the local host name (%l; %L is it up to the first dot).
	Hostname string
	// LookupEnv reads the environment (${VAR}, and $HOME for the "~" of
	// Include paths, which OpenSSH globs with the C library's tilde rule).
	// Nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// HomeOf returns the passwd home directory of another user ("~user/").
	// Nil means a lookup through os/user.
	HomeOf func(userName string) (string, error)
	// Service returns the TCP port of a service name from /etc/services
	// ("Port http"). Nil means reading /etc/services.
	Service func(name string) (int, bool)
	// Root is the directory system-wide relative Include paths are
	// resolved under; "" means /etc/ssh.
	Root string
}

// CurrentEnv returns the Env of the running process.
func CurrentEnv() (*Env, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("sshconfig: local user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	hn, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("sshconfig: local host name: %w", err)
	}
	return &Env{User: u.Username, UID: uid, Home: u.HomeDir, Hostname: hn}, nil
}

func (e *Env) lookupEnv(name string) (string, bool) {
	if e.LookupEnv != nil {
		return e.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

func (e *Env) homeOf(name string) (string, error) {
	if name == e.User && e.Home != "" && e.HomeOf == nil {
		return e.Home, nil
	}
	if e.HomeOf != nil {
		return e.HomeOf(name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}

func (e *Env) service(name string) (int, bool) {
	if e.Service != nil {
		return e.Service(name)
	}
	return lookupService("/etc/services", name)
}

// lookupService finds a tcp service by name or alias in an /etc/services
// file.
func lookupService(path, name string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(fields[1], "/")
		if !ok || proto != "tcp" {
			continue
		}
		names := append([]string{fields[0]}, fields[2:]...)
		for _, n := range names {
			if n == name {
				p, err := strconv.Atoi(port)
				if err != nil || p <= 0 || p > 65535 {
					return 0, false
				}
				return p, true
			}
		}
	}
	return 0, false
}

// a2port parses a port as OpenSSH does: a decimal number from 1 to 65535
// (leading zeros and a '+' allowed) or a tcp service name.
func (e *Env) a2port(s string) (int, error) {
	if v, err := strtonum(s, 0, 65535); err == nil {
		if v == 0 {
			return 0, fmt.Errorf("bad port %q", s)
		}
		return int(v), nil
	}
	if p, ok := e.service(s); ok {
		return p, nil
	}
	return 0, fmt.Errorf("bad port %q", s)
}
