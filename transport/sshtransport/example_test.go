package sshtransport_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"dproc/transport"
	"dproc/transport/sshtransport"
)

// A config file that cannot be parsed makes New fail with an error naming
// the file and line, instead of silently using the defaults.
func ExampleNew_configError() {
	dir, err := os.MkdirTemp("", "sshtransport-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config")
	config := "Host node1\n  HostName 10.0.0.1\nMatch exec \"true\"\n  User x\n"
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		log.Fatal(err)
	}

	_, err = sshtransport.New(&sshtransport.Options{ConfigFile: cfg})
	fmt.Println(errors.Is(err, transport.ErrInvalid))
	fmt.Println(strings.Contains(err.Error(), cfg+":3:"))
	// Output:
	// true
	// true
}

// Running a command on hosts named in ~/.ssh/config, and telling the
// errors apart. (Not run: it needs the hosts.)
func ExampleTransport_Run() {
	tr, err := sshtransport.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	var out strings.Builder
	err = tr.Run(context.Background(), "node1", &transport.Command{
		Args:   []string{"wc", "-l", "/etc/hostname"},
		Stdout: &out,
	})
	var exit *transport.ExitError
	switch {
	case errors.Is(err, sshtransport.ErrUnknownHostKey), errors.Is(err, sshtransport.ErrHostKeyChanged):
		log.Fatal(err) // never retried elsewhere: fix known_hosts
	case transport.IsLost(err):
		fmt.Println("node1 is down:", err)
	case errors.As(err, &exit):
		fmt.Printf("exit status %d: %s\n", exit.Code, exit.Stderr)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Print(out.String())
	}
}
