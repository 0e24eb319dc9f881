package sshtransport_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"dproc/transport/sshtransport"
)

// Resolve shows what the transport will use for a host, without
// connecting; WriteTo prints it as ssh -G does, so that the two can be
// compared.
func ExampleTransport_Resolve() {
	dir, err := os.MkdirTemp("", "sshtransport-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config")
	config := `Host web?
  HostName %h.Example.com
  User deploy
  IdentityFile /keys/%r-%h
  UserKnownHostsFile /keys/known_hosts
  GlobalKnownHostsFile none
  StrictHostKeyChecking accept-new
  ProxyJump bastion
Match host web1.example.com
  Port 2201
`
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		log.Fatal(err)
	}
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: cfg})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	s, err := tr.Resolve("web1")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.WriteTo(os.Stdout); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(s.Jumps), s.Jumps[0].HostName)
	// Output:
	// host web1
	// user deploy
	// hostname web1.example.com
	// port 2201
	// hashknownhosts no
	// identitiesonly no
	// stricthostkeychecking accept-new
	// serveralivecountmax 3
	// serveraliveinterval 2
	// identityfile /keys/deploy-web1.example.com
	// globalknownhostsfile none
	// userknownhostsfile /keys/known_hosts
	// connecttimeout 30
	// proxyjump bastion
	// 1 bastion
}
