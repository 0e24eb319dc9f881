package sshtransport_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"dproc/internal/knownhosts"
	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// The host key differential test: real sshd servers with several key types
// and host certificates, generated known_hosts files and ssh_config blocks,
// and for each case a real "ssh -o BatchMode=yes" connection and a dproc
// connection, whose verdicts (and, with accept-new, the lines written) must
// agree.
//
// Differences on purpose, which the test expects explicitly:
//   - StrictHostKeyChecking no: dproc treats it as accept-new (a changed or
//     revoked key is refused). The case is compared with ssh run with
//     accept-new, and ssh run with no is checked to connect where accept-new
//     refuses.
//   - A known_hosts file whose last line has no newline: OpenSSH 9.2 joins
//     the new entry to that line; dproc starts a new line (as OpenSSH 9.3).

// Verdicts.
const (
	vAccept   = "accept"
	vUnknown  = "unknown"
	vChanged  = "changed"
	vRevoked  = "revoked"
	vNoCommon = "no common algorithm"
)

// hkServer is one sshd under test.
type hkServer struct {
	cl    *sshtest.Cluster // its cluster, whose client key it accepts
	name  string
	port  int
	keys  map[string]ssh.PublicKey // by sshtest key type
	certs map[string]*ssh.Certificate
	wrong map[string]ssh.PublicKey // keys of another server, by type
}

func (s *hkServer) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server %s (127.0.0.1:%d):", s.name, s.port)
	for _, typ := range allTypes {
		if k := s.keys[typ]; k != nil {
			fmt.Fprintf(&b, "\n  %s %s", k.Type(), ssh.FingerprintSHA256(k))
			if c := s.certs[typ]; c != nil {
				fmt.Fprintf(&b, " + certificate by %s for %q", ssh.FingerprintSHA256(c.SignatureKey), c.ValidPrincipals)
			}
		}
	}
	return b.String()
}

// hkCase is one differential case.
type hkCase struct {
	name    string
	srv     *hkServer
	host    string   // HostName ("": 127.0.0.1)
	user    []string // contents of the UserKnownHostsFile files (none: "none")
	global  string   // content of the GlobalKnownHostsFile ("": none)
	strict  string   // yes, ask, accept-new, no
	alias   string   // HostKeyAlias
	algs    string   // HostKeyAlgorithms
	hash    bool     // HashKnownHosts
	noFinal bool     // the first user file does not end with a newline
}

func (c *hkCase) hostName() string {
	if c.host == "" {
		return "127.0.0.1"
	}
	return c.host
}

func (c *hkCase) lookupName() string {
	return knownhosts.LookupName(c.hostName(), c.srv.port, c.alias)
}

// hkResult is what one client did.
type hkResult struct {
	verdict string
	detail  string // ssh's stderr or dproc's error
	added   string // what was appended to the first user file, normalised
}

func newSigner(t *testing.T, ec bool) ssh.Signer {
	t.Helper()
	var s ssh.Signer
	var err error
	if ec {
		k, e := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, e)
		s, err = ssh.NewSignerFromKey(k)
	} else {
		_, k, e := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, e)
		s, err = ssh.NewSignerFromKey(k)
	}
	require.NoError(t, err)
	return s
}

var allTypes = []string{sshtest.KeyED25519, sshtest.KeyECDSA, sshtest.KeyECDSA384, sshtest.KeyRSA}

func startServers(c *sshtest.Cluster) []*hkServer {
	var out []*hkServer
	for _, nd := range c.Nodes() {
		s := &hkServer{cl: c, port: nd.Port(), keys: map[string]ssh.PublicKey{}, certs: map[string]*ssh.Certificate{}}
		for _, k := range nd.HostKeys() {
			s.keys[sshtestType(k)] = k
		}
		for _, crt := range nd.HostCertificates() {
			s.certs[sshtestType(crt.Key)] = crt
		}
		out = append(out, s)
	}
	return out
}

func sshtestType(k ssh.PublicKey) string {
	switch k.Type() {
	case ssh.KeyAlgoED25519:
		return sshtest.KeyED25519
	case ssh.KeyAlgoECDSA256:
		return sshtest.KeyECDSA
	case ssh.KeyAlgoECDSA384:
		return sshtest.KeyECDSA384
	}
	return sshtest.KeyRSA
}

// TestHostKeysAgainstOpenSSH is the differential test.
func TestHostKeysAgainstOpenSSH(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
			t.Fatalf("ssh not found: %v", err)
		}
		t.Skipf("ssh not found: %v", err)
	}
	ca1, ca2 := newSigner(t, false), newSigner(t, true)
	opts := func(types []string, certs func(node string, key ssh.PublicKey) (*ssh.Certificate, error)) *sshtest.Options {
		return &sshtest.Options{HostKeyTypes: types, MaxStartups: "100", LogLevel: "ERROR", HostCertificate: certs}
	}
	plainCluster := sshtest.StartCluster(t, 2, opts(allTypes, nil))
	certCluster := sshtest.StartCluster(t, 2, opts(allTypes, func(node string, key ssh.PublicKey) (*ssh.Certificate, error) {
		if node == "node1" {
			return sshtest.SignHostCert(ca1, key, "b1", []string{"127.0.0.1", "alias.example"})
		}
		switch key.Type() {
		case ssh.KeyAlgoED25519:
			return sshtest.SignHostCert(ca2, key, "b2-ed", []string{"other.example"})
		case ssh.KeyAlgoECDSA256:
			return sshtest.SignHostCert(ca1, key, "b2-ec", nil) // valid for any name
		}
		return sshtest.SignHostCert(ca2, key, "b2-rsa", []string{"127.0.0.1"})
	}))
	rsaCluster := sshtest.StartCluster(t, 1, opts([]string{sshtest.KeyRSA}, nil))

	a := startServers(plainCluster)
	b := startServers(certCluster)
	r := startServers(rsaCluster)
	servers := []*hkServer{a[0], a[1], b[0], b[1], r[0]}
	for i, s := range servers {
		s.name = []string{"A1 (plain)", "A2 (plain)", "B1 (certs by CA1)", "B2 (mixed certs)", "C1 (rsa only)"}[i]
		other := a[1]
		if s == a[1] || s == r[0] {
			other = a[0]
		}
		s.wrong = other.keys
	}

	g := &hkGen{ca1: ca1.PublicKey(), ca2: ca2.PublicKey()}
	cases := g.named(servers)
	// DPROC_HOSTKEY_SEED explores other generated cases; CI uses the fixed
	// seed, so a failure there can be reproduced.
	seed := uint64(20261201)
	if v := os.Getenv("DPROC_HOSTKEY_SEED"); v != "" {
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "DPROC_HOSTKEY_SEED")
	}
	rng := mrand.New(mrand.NewPCG(seed, 10))
	for i := range 200 {
		cases = append(cases, g.random(rng, i, servers))
	}

	base := t.TempDir()
	var mu sync.Mutex
	mismatches := 0
	seen := map[string]int{} // ssh's verdicts, "+written" for accept-new appends
	work := make(chan int)
	var wg sync.WaitGroup
	// Cases wait on sshd and the remote shell as much as they compute, so
	// run more of them than there are cores.
	for range 10 {
		wg.Go(func() {
			for i := range work {
				c := &cases[i]
				verdict, msg := runHostKeyCase(sshBin, c.srv.cl, filepath.Join(base, strconv.Itoa(i)), c)
				mu.Lock()
				seen[verdict]++
				mu.Unlock()
				if msg != "" {
					mu.Lock()
					mismatches++
					if mismatches <= 20 {
						t.Errorf("case %d %s:\n%s", i, c.name, msg)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("%d host key cases compared with OpenSSH, %d mismatches; verdicts %v", len(cases), mismatches, seen)
	// The generator must exercise every verdict.
	for _, v := range []string{vAccept, vUnknown, vChanged, vRevoked, vNoCommon, vAccept + "+written"} {
		require.GreaterOrEqual(t, seen[v], 3, "verdict %q too rare: %v", v, seen)
	}
}

// runHostKeyCase runs one case with ssh and dproc and returns ssh's
// verdict and a description of any disagreement, or "".
func runHostKeyCase(sshBin string, cl *sshtest.Cluster, dir string, c *hkCase) (verdict, mismatch string) {
	sshRes, msg := compareHostKeyCase(sshBin, cl, dir, c)
	verdict = sshRes.verdict
	if sshRes.added != "" {
		verdict += "+written"
	}
	return verdict, msg
}

func compareHostKeyCase(sshBin string, cl *sshtest.Cluster, dir string, c *hkCase) (hkResult, string) {
	want := c.strict
	if want == "no" {
		want = "accept-new" // dproc's reading of "no", see the top of the file
	}
	sshRes, sshCfg, err := runSSHCase(sshBin, cl, filepath.Join(dir, "ssh"), c, want)
	if err != nil {
		return sshRes, err.Error()
	}
	dRes, dCfg, err := runDprocCase(cl, filepath.Join(dir, "dproc"), c)
	if err != nil {
		return sshRes, err.Error()
	}
	var problems []string
	if sshRes.verdict != dRes.verdict {
		problems = append(problems, fmt.Sprintf("verdicts differ: ssh %s, dproc %s", sshRes.verdict, dRes.verdict))
	}
	wantAdded := sshRes.added
	if c.noFinal && wantAdded != "" {
		// OpenSSH 9.2 joins the entry to the unterminated last line; dproc
		// starts a new one.
		wantAdded = "\n" + wantAdded
	}
	if wantAdded != dRes.added {
		problems = append(problems, fmt.Sprintf("lines written differ:\n  ssh:   %q\n  dproc: %q", sshRes.added, dRes.added))
	}
	if c.strict == "no" && (sshRes.verdict == vChanged || sshRes.verdict == vRevoked) {
		// The documented difference: ssh connects anyway.
		noRes, _, err := runSSHCase(sshBin, cl, filepath.Join(dir, "ssh-no"), c, "no")
		if err != nil {
			return sshRes, err.Error()
		}
		if noRes.verdict != vAccept {
			problems = append(problems, fmt.Sprintf("ssh with StrictHostKeyChecking no was expected to connect over a %s key: %s (%s)",
				sshRes.verdict, noRes.verdict, noRes.detail))
		}
	}
	if len(problems) == 0 {
		return sshRes, ""
	}
	var b strings.Builder
	b.WriteString(strings.Join(problems, "\n") + "\n")
	b.WriteString(c.srv.describe() + "\n")
	fmt.Fprintf(&b, "lookup name %s\n", c.lookupName())
	for i, u := range c.user {
		fmt.Fprintf(&b, "user known_hosts %d:\n%s\n", i+1, indent(u))
	}
	if c.global != "" {
		fmt.Fprintf(&b, "global known_hosts:\n%s\n", indent(c.global))
	}
	fmt.Fprintf(&b, "ssh_config (ssh):\n%s\nssh said: %s\n%s\n", indent(sshCfg), sshRes.verdict, indent(sshRes.detail))
	fmt.Fprintf(&b, "ssh_config (dproc):\n%s\ndproc said: %s: %s", indent(dCfg), dRes.verdict, dRes.detail)
	return sshRes, b.String()
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// writeCaseFiles writes the known_hosts files and the ssh_config of c into
// dir, with StrictHostKeyChecking strict, and returns the config's path and
// text and the first user file's path ("" for none).
func writeCaseFiles(cl *sshtest.Cluster, dir string, c *hkCase, strict string) (cfgPath, cfg, first string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", "", err
	}
	var users []string
	for i, u := range c.user {
		p := filepath.Join(dir, fmt.Sprintf("known_hosts%d", i+1))
		if err := os.WriteFile(p, []byte(u), 0o600); err != nil {
			return "", "", "", err
		}
		users = append(users, p)
	}
	global := "none"
	if c.global != "" {
		global = filepath.Join(dir, "ssh_known_hosts")
		if err := os.WriteFile(global, []byte(c.global), 0o600); err != nil {
			return "", "", "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Host target\n  HostName %s\n  Port %d\n  User %s\n", c.hostName(), c.srv.port, cl.User())
	fmt.Fprintf(&b, "  IdentityFile %s\n  IdentitiesOnly yes\n", cl.IdentityFile())
	if len(users) == 0 {
		b.WriteString("  UserKnownHostsFile none\n")
	} else {
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", strings.Join(users, " "))
	}
	fmt.Fprintf(&b, "  GlobalKnownHostsFile %s\n  StrictHostKeyChecking %s\n", global, strict)
	if c.alias != "" {
		fmt.Fprintf(&b, "  HostKeyAlias %s\n", c.alias)
	}
	if c.algs != "" {
		fmt.Fprintf(&b, "  HostKeyAlgorithms %s\n", c.algs)
	}
	if c.hash {
		b.WriteString("  HashKnownHosts yes\n")
	}
	cfgPath = filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o600); err != nil {
		return "", "", "", err
	}
	if len(users) > 0 {
		first = users[0]
	}
	return cfgPath, b.String(), first, nil
}

// added returns what was appended to the first user file, with hashed
// names replaced by the name they hash.
func (c *hkCase) added(first string) (string, error) {
	if first == "" {
		return "", nil
	}
	b, err := os.ReadFile(first)
	if err != nil {
		return "", err
	}
	before := c.user[0]
	if !strings.HasPrefix(string(b), before) {
		return "", fmt.Errorf("%s was rewritten, not appended to:\n%s", first, b)
	}
	add := string(b[len(before):])
	var out []string
	for _, l := range strings.SplitAfter(add, "\n") {
		if f, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(f, "|1|") {
			if knownhosts.HashMatches(f, c.lookupName()) {
				f = "HASH(" + c.lookupName() + ")"
			} else {
				f = "HASH(something else)"
			}
			l = f + " " + rest
		}
		out = append(out, l)
	}
	return strings.Join(out, ""), nil
}

func runSSHCase(sshBin string, cl *sshtest.Cluster, dir string, c *hkCase, strict string) (hkResult, string, error) {
	cfgPath, cfg, first, err := writeCaseFiles(cl, dir, c, strict)
	if err != nil {
		return hkResult{}, "", err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			env = append(env, kv)
		}
	}
	var runErr error
	var stderr bytes.Buffer
	for attempt := 0; attempt < 3; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, sshBin, "-F", cfgPath, "-o", "BatchMode=yes", "target", "true")
		cmd.Env = env
		stderr.Reset()
		cmd.Stderr = &stderr
		runErr = cmd.Run()
		cancel()
		// A connection dropped before any verdict (a loaded machine) is
		// tried again.
		se := stderr.String()
		if runErr == nil || !(strings.Contains(se, "kex_exchange_identification") ||
			strings.Contains(se, "Connection reset") || strings.Contains(se, "Connection closed by")) {
			break
		}
	}
	res := hkResult{detail: stderr.String()}
	se := res.detail
	// ssh also warns of a revoked key under the bare host name while it
	// tries its port-less fallback, then goes on: only a revoked key under
	// the lookup name is its verdict. A changed key is only reported for
	// the lookup name.
	switch {
	case strings.Contains(se, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		res.verdict = vChanged
	case strings.Contains(se, " host key for "+c.lookupName()+" is marked as revoked"):
		res.verdict = vRevoked
	case strings.Contains(se, "no matching host key type found"):
		res.verdict = vNoCommon
	case runErr == nil:
		res.verdict = vAccept
	case strings.Contains(se, "host key is known for") || strings.Contains(se, "Host key verification failed"):
		res.verdict = vUnknown
	default:
		return res, cfg, fmt.Errorf("ssh failed unexpectedly (%v):\n%s\nconfig:\n%s", runErr, se, cfg)
	}
	if res.verdict != vAccept && strict != "no" && runErr == nil {
		return res, cfg, fmt.Errorf("ssh connected but warned:\n%s", se)
	}
	if strict == "no" && (res.verdict == vChanged || res.verdict == vRevoked) && runErr == nil {
		res.verdict = vAccept // connected anyway
	}
	res.added, err = c.added(first)
	return res, cfg, err
}

func runDprocCase(cl *sshtest.Cluster, dir string, c *hkCase) (hkResult, string, error) {
	cfgPath, cfg, first, err := writeCaseFiles(cl, dir, c, c.strict)
	if err != nil {
		return hkResult{}, "", err
	}
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: cfgPath, NoAgent: true, ConnectTimeout: 30 * time.Second})
	if err != nil {
		return hkResult{}, cfg, err
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var runErr error
	for attempt := 0; attempt < 3; attempt++ {
		// A lost connection (a loaded machine) is tried again.
		if runErr = tr.Run(ctx, "target", &transport.Command{Shell: "true"}); !transport.IsLost(runErr) {
			break
		}
	}
	res := hkResult{}
	if runErr != nil {
		res.detail = runErr.Error()
	}
	var hk *sshtransport.HostKeyError
	switch {
	case runErr == nil:
		res.verdict = vAccept
	case errors.As(runErr, &hk) && transport.IsLost(runErr):
		return res, cfg, fmt.Errorf("dproc: a host key refusal is reported as lost: %v", runErr)
	case errors.Is(runErr, sshtransport.ErrHostKeyRevoked):
		res.verdict = vRevoked
	case errors.Is(runErr, sshtransport.ErrHostKeyChanged):
		res.verdict = vChanged
	case errors.Is(runErr, sshtransport.ErrNoHostKeyAlgorithm):
		res.verdict = vNoCommon
	case errors.Is(runErr, sshtransport.ErrUnknownHostKey):
		res.verdict = vUnknown
	default:
		return res, cfg, fmt.Errorf("dproc failed unexpectedly: %v\nconfig:\n%s", runErr, cfg)
	}
	res.added, err = c.added(first)
	return res, cfg, err
}

// hkGen generates known_hosts cases.
type hkGen struct {
	ca1, ca2 ssh.PublicKey
}

// line formats one known_hosts line.
func line(marker, names string, key ssh.PublicKey) string {
	l := names + " " + strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	if marker != "" {
		l = marker + " " + l
	}
	return l + "\n"
}

func target(s *hkServer) string { return "[127.0.0.1]:" + strconv.Itoa(s.port) }

// named returns hand-written cases for the classes of divergence that
// OpenSSH's rules are known for.
func (g *hkGen) named(srv []*hkServer) []hkCase {
	a1, a2, b1, b2, c1 := srv[0], srv[1], srv[2], srv[3], srv[4]
	ed, ec, rsa := sshtest.KeyED25519, sshtest.KeyECDSA, sshtest.KeyRSA
	T := target(a1)
	all := func(s *hkServer, names string) string {
		var b strings.Builder
		for _, typ := range allTypes {
			if k := s.keys[typ]; k != nil {
				b.WriteString(line("", names, k))
			}
		}
		return b.String()
	}
	one := func(names string, k ssh.PublicKey) []string { return []string{line("", names, k)} }
	return []hkCase{
		{name: "all keys known", srv: a1, user: []string{all(a1, T)}, strict: "yes"},
		{name: "only ed25519 known", srv: a1, user: one(T, a1.keys[ed]), strict: "yes"},
		{name: "only ecdsa known", srv: a1, user: one(T, a1.keys[ec]), strict: "yes"},
		{name: "only ecdsa P-384 known", srv: a1, user: one(T, a1.keys[sshtest.KeyECDSA384]), strict: "yes"},
		{name: "wrong ecdsa P-256 key, right P-384 key", srv: a1, user: []string{line("", T, a1.wrong[ec]) + line("", T, a1.keys[sshtest.KeyECDSA384])}, strict: "yes"},
		{name: "only rsa known", srv: a1, user: one(T, a1.keys[rsa]), strict: "yes"},
		{name: "known rsa listed before a wrong ed25519 key", srv: a1, user: []string{line("", T, a1.keys[rsa]) + line("", T, a1.wrong[ed])}, strict: "yes"},
		{name: "a key of another type only is a changed key", srv: c1, user: one(target(c1), c1.wrong[ed]), strict: "accept-new"},
		{name: "wrong key in file 1, right key in file 2", srv: a1, user: []string{line("", T, a1.wrong[ed]), line("", T, a1.keys[ed])}, strict: "yes"},
		{name: "right key in the global file", srv: a1, user: []string{""}, global: all(a1, T), strict: "yes"},
		{name: "unknown, strict", srv: a1, user: []string{""}, strict: "yes"},
		{name: "unknown, ask in batch mode", srv: a1, user: []string{""}, strict: "ask"},
		{name: "unknown, accept-new", srv: a1, user: []string{""}, strict: "accept-new"},
		{name: "unknown, accept-new, hashed", srv: a1, user: []string{"# mine\n"}, strict: "accept-new", hash: true},
		{name: "unknown, accept-new, no user file", srv: a1, strict: "accept-new"},
		{name: "accept-new, second user file not written", srv: a1, user: []string{"", line("", "other.example", a1.keys[ed])}, strict: "accept-new"},
		{name: "accept-new, missing final newline (documented difference)", srv: a1, user: []string{strings.TrimSuffix(line("", "other.example", a1.keys[ed]), "\n")}, strict: "accept-new", noFinal: true},
		{name: "file with no valid line", srv: a1, user: []string{"garbage\n@bogus * " + strings.TrimPrefix(line("", "", a1.keys[ed]), " ") + T + "\n" + T + " ssh-rsa " + strings.Fields(line("", "x", a1.keys[ed]))[2] + "\n"}, strict: "yes"},
		{name: "file with no valid line, accept-new", srv: a1, user: []string{"garbage\n\n# c\n" + T + "\n"}, strict: "accept-new"},
		{name: "hashed name", srv: a1, user: one(knownhosts.HashName(T), a1.keys[ed]), strict: "yes"},
		{name: "wildcard", srv: a1, user: one("*", a1.keys[ed]), strict: "yes"},
		{name: "bare ip glob does not match [ip]:port", srv: a1, user: one("127.0.0.*", a1.keys[rsa]), strict: "yes"},
		{name: "port star", srv: a1, user: one("[127.0.0.1]:*", a1.keys[ed]), strict: "yes"},
		{name: "port question marks", srv: a1, user: one("[127.0.0.?]:"+strconv.Itoa(a1.port)[:4]+"?", a1.keys[ed]), strict: "yes"},
		{name: "port question mark too many", srv: a1, user: one("[127.0.0.1]:"+strconv.Itoa(a1.port)+"?", a1.keys[ed]), strict: "yes"},
		{name: "[h]:22 never matches", srv: a1, user: one("[127.0.0.1]:22", a1.keys[ed]), strict: "yes"},
		{name: "negation of the whole name", srv: a1, user: one("*,!"+T, a1.keys[ed]), strict: "yes"},
		{name: "negation of the bare name does not exclude [h]:port", srv: a1, user: one("*,!127.0.0.1", a1.keys[ed]), strict: "yes"},
		{name: "negation only", srv: a1, user: one("!"+T, a1.keys[ed]), strict: "yes"},
		{name: "port-less fallback", srv: a1, user: one("127.0.0.1", a1.keys[ed]), strict: "yes"},
		{name: "port-less fallback, hashed", srv: a1, user: one(knownhosts.HashName("127.0.0.1"), a1.keys[ed]), strict: "yes"},
		{name: "port-less fallback, other type only", srv: a1, user: one("127.0.0.1", a1.keys[rsa]), strict: "yes"},
		{name: "port-less fallback, changed there: accept-new adds [h]:port", srv: a1, user: one("127.0.0.1", a1.wrong[ed]), strict: "accept-new"},
		{name: "port-less fallback, revoked there: accept-new adds [h]:port", srv: a1, user: []string{line("@revoked", "127.0.0.1", a1.keys[ed]) + line("", "127.0.0.1", a1.keys[ed])}, strict: "accept-new"},
		{name: "@cert-authority line never matches a plain key", srv: a1, user: []string{line("@cert-authority", T, a1.keys[ed])}, strict: "yes"},
		{name: "only a CA known, no certificate offered", srv: a1, user: []string{line("@cert-authority", "*", g.ca1)}, strict: "yes"},
		{name: "only a CA known, no certificate offered, accept-new", srv: a1, user: []string{line("@cert-authority", "*", g.ca1)}, strict: "accept-new"},
		{name: "@revoked for another name", srv: a1, user: []string{line("@revoked", "other.example", a1.keys[ed]) + line("", T, a1.keys[ed])}, strict: "yes"},
		{name: "@revoked everywhere", srv: a1, user: []string{line("@revoked", "*", a1.keys[ed]) + line("", T, a1.keys[ed])}, strict: "yes"},
		{name: "revoked ed25519, rsa known too", srv: a1, user: []string{line("@revoked", "*", a1.keys[ed]) + line("", T, a1.keys[ed]) + line("", T, a1.keys[rsa])}, strict: "yes"},
		{name: "revoked ed25519, only rsa known", srv: a1, user: []string{line("@revoked", "*", a1.keys[ed]) + line("", T, a1.keys[rsa])}, strict: "yes"},
		{name: "certificate by a trusted CA", srv: b1, user: []string{line("@cert-authority", "*", g.ca1)}, strict: "yes"},
		{name: "certificate by a CA trusted for other names", srv: b1, user: []string{line("@cert-authority", "*.example", g.ca1)}, strict: "yes"},
		{name: "certificate by another CA", srv: b1, user: []string{line("@cert-authority", "*", g.ca2)}, strict: "yes"},
		{name: "revoked CA", srv: b1, user: []string{line("@cert-authority", "*", g.ca1) + line("@revoked", "*", g.ca1)}, strict: "yes"},
		{name: "revoked certificate key", srv: b1, user: []string{line("@cert-authority", "*", g.ca1) + line("@revoked", T, b1.keys[ed])}, strict: "accept-new"},
		{name: "certificate, CA on the bare name (fallback)", srv: b1, user: []string{line("@cert-authority", "127.0.0.1", g.ca1)}, strict: "yes"},
		{name: "certificate for other principals, accept-new records the plain key", srv: b2, user: []string{line("@cert-authority", "*", g.ca2)}, strict: "accept-new"},
		{name: "certificate for other principals, strict", srv: b2, user: []string{line("@cert-authority", "*", g.ca2)}, strict: "yes"},
		{name: "certificate without principals", srv: b2, user: []string{line("@cert-authority", "*", g.ca1)}, strict: "yes"},
		{name: "certificate and plain key known", srv: b1, user: []string{line("", T, b1.keys[ed])}, strict: "yes"},
		{name: "host name in upper case is looked up in lower case", srv: a1, host: "LocalHost", user: one("[localhost]:"+strconv.Itoa(a1.port), a1.keys[ed]), strict: "yes"},
		{name: "host name in upper case, accept-new", srv: a1, host: "LocalHost", user: []string{""}, strict: "accept-new"},
		{name: "host name, hashed upper case entry", srv: a1, host: "localhost", user: one(knownhosts.HashName("[LOCALHOST]:"+strconv.Itoa(a1.port)), a1.keys[ed]), strict: "yes"},
		{name: "host name, certificate for the address only", srv: b1, host: "localhost", user: []string{line("@cert-authority", "*", g.ca1)}, strict: "accept-new"},
		{name: "alias", srv: a1, alias: "alias.example", user: one("alias.example", a1.keys[ed]), strict: "yes"},
		{name: "alias, upper case in config", srv: a1, alias: "Alias.EXAMPLE", user: one("alias.example", a1.keys[ed]), strict: "yes"},
		{name: "alias, hashed upper case name", srv: a1, alias: "Alias.Example", user: one(knownhosts.HashName("Alias.Example"), a1.keys[ed]), strict: "yes"},
		{name: "alias, no port added", srv: a1, alias: "alias.example", user: one("[alias.example]:"+strconv.Itoa(a1.port), a1.keys[ed]), strict: "yes"},
		{name: "alias, no fallback", srv: a1, alias: "alias.example", user: one("127.0.0.1", a1.keys[ed]), strict: "yes"},
		{name: "alias, accept-new", srv: a1, alias: "Alias.Example", user: []string{""}, strict: "accept-new"},
		{name: "alias, accept-new hashed", srv: a1, alias: "Alias.Example", user: []string{""}, strict: "accept-new", hash: true},
		{name: "alias, certificate principal", srv: b1, alias: "alias.example", user: []string{line("@cert-authority", "alias.example", g.ca1)}, strict: "yes"},
		{name: "no common host key algorithm", srv: c1, algs: "ssh-ed25519", user: []string{""}, strict: "accept-new"},
		{name: "explicit list, known type not asked for", srv: a1, algs: "ssh-ed25519", user: one(T, a1.keys[rsa]), strict: "yes"},
		{name: "explicit list in its own order", srv: a1, algs: "rsa-sha2-512,ssh-ed25519", user: []string{all(a1, T)}, strict: "yes"},
		{name: "+ list is reordered", srv: a1, algs: "+ssh-rsa", user: one(T, a1.keys[rsa]), strict: "yes"},
		{name: "- list is reordered", srv: a1, algs: "-ssh-ed25519*", user: one(T, a1.keys[ed]), strict: "yes"},
		{name: "^ list is not reordered", srv: a1, algs: "^ecdsa-sha2-nistp256", user: one(T, a1.keys[ed]), strict: "yes"},
		{name: "certificates only asked for, none offered", srv: a1, algs: "*-cert-v01@openssh.com", user: []string{line("@cert-authority", "*", g.ca1)}, strict: "yes"},
		{name: "changed, StrictHostKeyChecking no (documented difference)", srv: a1, user: one(T, a1.wrong[ed]), strict: "no"},
		{name: "revoked, StrictHostKeyChecking no (documented difference)", srv: a1, user: []string{line("@revoked", "*", a1.keys[ed]) + line("", T, a1.keys[ed])}, strict: "no"},
		{name: "unknown, StrictHostKeyChecking no", srv: a2, user: []string{""}, strict: "no"},
		{name: "keytype label that is not the key's own is skipped", srv: a1, user: []string{T + " ssh-rsa " + strings.Fields(line("", "x", a1.keys[ed]))[2] + "\n" + line("", T, a1.keys[ed])}, strict: "yes"},
	}
}

// random returns a generated case.
func (g *hkGen) random(rng *mrand.Rand, i int, srv []*hkServer) hkCase {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	s := srv[rng.IntN(len(srv))]
	c := hkCase{name: fmt.Sprintf("generated %d", i), srv: s}
	c.strict = pick("yes", "yes", "yes", "ask", "accept-new", "accept-new", "accept-new", "no")
	if rng.IntN(5) == 0 {
		c.alias = pick("alias.example", "Alias.Example", "other.example")
	}
	if rng.IntN(4) == 0 {
		c.algs = pick("ssh-ed25519", "rsa-sha2-512,ssh-ed25519", "ecdsa-sha2-nistp256", "+ssh-rsa",
			"-ssh-ed25519*", "^rsa-sha2-256", "ssh-ed25519-cert-v01@openssh.com,ssh-ed25519", "*-cert-v01@openssh.com",
			"rsa-sha2-256-cert-v01@openssh.com,ecdsa-sha2-nistp256")
	}
	c.hash = rng.IntN(3) == 0
	if rng.IntN(5) == 0 {
		c.host = pick("localhost", "LocalHost")
	}
	L := c.lookupName()
	port := strconv.Itoa(s.port)
	h := strings.ToLower(c.hostName())
	hq, hs := h[:len(h)-1]+"?", h[:len(h)-2]+"*"
	name := func() string {
		if c.alias != "" && rng.IntN(3) > 0 {
			return pick(L, strings.ToUpper(L), knownhosts.HashName(L), knownhosts.HashName(c.alias),
				"*.example", "alias.*,!"+L, "["+L+"]:"+port, "other.example,"+L)
		}
		return pick(L, L, strings.ToUpper(L), knownhosts.HashName(L), h, h, knownhosts.HashName(h),
			"["+h+"]:*", "["+hq+"]:"+port[:len(port)-1]+"?", "["+h+"]:"+port+"?", "*", hs,
			"*,!"+L, "*,!"+h, "!"+L, "other.example,"+L, "["+h+"]:22", "other.example",
			"["+h+"]:1", "["+h+"]:"+port+","+h, "[127.0.0.1]:"+port)
	}
	key := func() ssh.PublicKey {
		typ := allTypes[rng.IntN(len(allTypes))]
		switch rng.IntN(4) {
		case 0, 1:
			if k := s.keys[typ]; k != nil {
				return k
			}
		case 2:
			return s.wrong[typ]
		}
		if rng.IntN(2) == 0 {
			return g.ca1
		}
		return g.ca2
	}
	entry := func() string {
		switch rng.IntN(20) {
		case 0:
			return pick("# comment\n", "\n", "garbage\n", "@bogus * "+strings.TrimPrefix(line("", "", key()), " "),
				name()+" ssh-ed25519 !!!\n", name()+"\n", "@revoked @revoked "+line("", name(), key()))
		case 1, 2, 3:
			return line("@revoked", name(), key())
		case 4, 5, 6:
			ca := g.ca1
			if rng.IntN(2) == 0 {
				ca = g.ca2
			}
			return line("@cert-authority", name(), ca)
		}
		return line("", name(), key())
	}
	files := 1 + rng.IntN(2)
	if rng.IntN(25) == 0 {
		files = 0
	}
	c.user = make([]string, files)
	for range rng.IntN(6) {
		if rng.IntN(5) == 0 || files == 0 {
			c.global += entry()
			continue
		}
		c.user[rng.IntN(files)] += entry()
	}
	return c
}
