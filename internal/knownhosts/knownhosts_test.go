package knownhosts

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func edKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(k)
	require.NoError(t, err)
	return s
}

func ecKey(t *testing.T, c elliptic.Curve) ssh.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	p, err := ssh.NewPublicKey(k.Public())
	require.NoError(t, err)
	return p
}

var rsaOnce struct {
	sync.Once
	k ssh.PublicKey
}

func rsaKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		rsaOnce.k, err = ssh.NewPublicKey(k.Public())
		require.NoError(t, err)
	})
	return rsaOnce.k
}

// smallRSA returns a 768-bit RSA public key (a random odd modulus is
// enough: only its size matters).
func smallRSA(t *testing.T) ssh.PublicKey {
	t.Helper()
	b := make([]byte, 96)
	_, err := rand.Read(b)
	require.NoError(t, err)
	b[0] |= 0x80
	b[95] |= 1
	p, err := ssh.NewPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(b), E: 65537})
	require.NoError(t, err)
	return p
}

func b64(k ssh.PublicKey) string {
	return strings.Fields(string(ssh.MarshalAuthorizedKey(k)))[1]
}

func kline(marker, names string, k ssh.PublicKey) string {
	l := names + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if marker != "" {
		l = marker + " " + l
	}
	return l + "\n"
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"host", "host", true},
		{"host", "h?st", true},
		{"hst", "h?st", false}, // ? is exactly one character
		{"hoost", "h?st", false},
		{"host", "h*", true},
		{"h", "h*", true},
		{"[h]:2222", "*", true},
		{"[h]:2222", "[h]:*", true},
		{"h", "[h]:*", false},
		{"[h1]:42201", "[h?]:4220?", true},
		{"[h1]:4220", "[h?]:4220?", false},
		{"abc", "a**c", true},
		{"", "*", true},
		{"", "?", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, matchPattern(tc.s, tc.p), "%q ~ %q", tc.s, tc.p)
	}
}

func TestMatchNames(t *testing.T) {
	tests := []struct {
		name, field string
		want        bool
	}{
		{"web", "web", true},
		{"web", "WEB", true}, // patterns match without regard to case
		{"[web]:2222", "*,![web]:2222", false},
		{"[web]:2222", "*,!web", true}, // negation must match the whole name
		{"web", "*,!web", false},
		{"web", "!web", false},
		{"web", "!other", false}, // only negations never match
		{"web", "other,web", true},
		{"web", "other,,x", false},
		{"[web]:22", "web", false},
		{"web", "[web]:22", false},
	}
	for _, tc := range tests {
		got, ok := matchNames(tc.name, tc.field)
		assert.True(t, ok)
		assert.Equal(t, tc.want, got, "%q in %q", tc.name, tc.field)
	}

	// Hashed: one name, compared exactly, so lowercase first.
	h := HashName("web.example")
	got, ok := matchNames("web.example", h)
	assert.True(t, ok && got)
	got, _ = matchNames("WEB.example", h)
	assert.False(t, got)
	assert.True(t, HashMatches(h, "web.example"))
	assert.False(t, HashMatches(HashName("a,b"), "a"), "a hashed field is one name")
	for _, bad := range []string{"|1|", "|1|AAAA|x", "|2|" + h[3:], "|1|" + strings.Repeat("A", 28)} {
		_, ok := matchNames("web.example", bad)
		assert.False(t, ok, "%q is malformed", bad)
	}
}

func TestLookupName(t *testing.T) {
	assert.Equal(t, "web", LookupName("Web", 22, ""))
	assert.Equal(t, "web", LookupName("web", 0, ""))
	assert.Equal(t, "[web]:2222", LookupName("WEB", 2222, ""))
	assert.Equal(t, "alias.example", LookupName("web", 2222, "Alias.Example"), "an alias never gets a port")
}

func TestParse(t *testing.T) {
	k := edKey(t).PublicKey()
	r := rsaKey(t)
	lines := []string{
		"# comment",
		"",
		"   ",
		kline("", "a", k),                        // 4: valid
		"\t" + kline("", "b", k),                 // 5: leading blanks are fine
		kline("@cert-authority", "c", k),         // 6
		kline("@revoked", "d", k),                // 7
		kline("@bogus", "e", k),                  // unknown marker
		"@revoked @revoked " + kline("", "f", k), // two markers
		"@revoked\t" + kline("", "g", k),         // the marker ends at the first space: "@revoked\tg"
		"h",                                      // names only
		"i #comment",                             // truncated before the key type
		"j ssh-ed25519",                          // no key
		"k ssh-ed25519 !!!",                      // bad base64
		"l ssh-rsa " + b64(k),                    // label is not the key's type
		"m ecdsa-sha2-nistp384 " + b64(ecKey(t, elliptic.P256())),               // wrong curve
		"n rsa-sha2-512 " + b64(r),                                              // 17: an RSA signature name is accepted
		"o ED25519 " + b64(k),                                                   // short names are not key types here
		"q ssh-rsa " + b64(smallRSA(t)),                                         // OpenSSH refuses RSA keys under 1024 bits
		"|1|bad|hash " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))), // malformed hash
		strings.TrimSuffix(kline("", "p", k), "\n") + " trailing comment words", // 20
	}
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\n") // kline's own newline
	}
	text := strings.Join(lines, "\n")
	var got []string
	for _, e := range Parse("f", []byte(text)) {
		got = append(got, fmt.Sprintf("%d %s %s %s", e.Line, e.Marker, e.Names, e.Key.Type()))
	}
	assert.Equal(t, []string{
		"4  a ssh-ed25519",
		"5  b ssh-ed25519",
		"6 @cert-authority c ssh-ed25519",
		"7 @revoked d ssh-ed25519",
		"17  n ssh-rsa",
		"21  p ssh-ed25519",
	}, got)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	k := edKey(t).PublicKey()
	f1 := filepath.Join(dir, "a")
	require.NoError(t, os.WriteFile(f1, []byte("garbage only\n"), 0o600))
	f2 := filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(f2, []byte(kline("", "h", k)), 0o600))
	db, err := Load(f1, filepath.Join(dir, "missing"), f2)
	require.NoError(t, err)
	assert.Equal(t, []string{f1, f2}, db.Files())
	require.Len(t, db.Entries(), 1)
	assert.Equal(t, f2+":1", db.Entries()[0].Pos())

	// As OpenSSH: a file that cannot be read is skipped.
	db, err = Load(dir, f2)
	require.NoError(t, err)
	assert.Equal(t, []string{f2}, db.Files())
	require.Len(t, db.Skipped(), 1)
	assert.Contains(t, db.Skipped()[0].Error(), dir)
}

func check(t *testing.T, text string, h Host, key ssh.PublicKey) Result {
	t.Helper()
	db := &DB{entries: Parse("kh", []byte(text))}
	return db.Check(h, key, time.Now())
}

func TestCheckPlainKeys(t *testing.T) {
	k, other := edKey(t).PublicKey(), edKey(t).PublicKey()
	r := rsaKey(t)
	h := Host{Name: "web", Port: 2222}
	T := "[web]:2222"
	tests := []struct {
		name     string
		text     string
		h        Host
		key      ssh.PublicKey
		want     Status
		fallback bool
	}{
		{"known", kline("", T, k), h, k, OK, false},
		{"unknown", kline("", "other", k), h, k, New, false},
		{"changed", kline("", T, other), h, k, Changed, false},
		{"another type known only is changed", kline("", T, r), h, k, Changed, false},
		{"right key after a wrong one", kline("", T, other) + kline("", T, k), h, k, OK, false},
		{"CA line is no plain key", kline("@cert-authority", T, k), h, k, New, false},
		{"revoked", kline("@revoked", "*", k) + kline("", T, k), h, k, Revoked, false},
		{"revoked for another name", kline("@revoked", "other", k) + kline("", T, k), h, k, OK, false},
		{"revoked without a plain line", kline("@revoked", T, k), h, k, Revoked, false},
		{"fallback", kline("", "web", k), h, k, OK, true},
		{"fallback: changed there is new", kline("", "web", other), h, k, New, false},
		{"fallback: revoked there is new", kline("@revoked", "web", k) + kline("", "web", k), h, k, New, false},
		{"no fallback with an alias", kline("", "web", k), Host{Name: "web", Port: 2222, Alias: "a"}, k, New, false},
		{"no fallback on port 22", kline("", "[web]:22", k), Host{Name: "web", Port: 22}, k, New, false},
		{"alias", kline("", "a", k), Host{Name: "web", Port: 2222, Alias: "A"}, k, OK, false},
		{"case", kline("", "[WEB]:2222", k), Host{Name: "Web", Port: 2222}, k, OK, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.text, tc.h, tc.key)
			assert.Equal(t, tc.want, res.Status)
			assert.Equal(t, tc.fallback, res.Fallback)
			assert.Equal(t, tc.h.LookupName(), res.Name)
			if tc.want == Changed {
				assert.NotEmpty(t, res.Known)
			}
		})
	}
}

func hostCert(t *testing.T, ca ssh.Signer, key ssh.PublicKey, principals []string, mod func(*ssh.Certificate)) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, CertType: ssh.HostCert, ValidPrincipals: principals, ValidBefore: ssh.CertTimeInfinity,
		Nonce: make([]byte, 32), SignatureKey: ca.PublicKey()}
	if mod != nil {
		mod(c)
	}
	b := c.Marshal()
	sig, err := ca.Sign(rand.Reader, b[:len(b)-4])
	require.NoError(t, err)
	c.Signature = sig
	return c
}

func TestCheckCertificates(t *testing.T) {
	ca, otherCA := edKey(t), edKey(t)
	hostKey := edKey(t).PublicKey()
	h := Host{Name: "web.example", Port: 2222}
	T := "[web.example]:2222"
	caLine := kline("@cert-authority", "*.example,[*.example]:*", ca.PublicKey())
	good := hostCert(t, ca, hostKey, []string{"web.example"}, nil)
	forged := hostCert(t, ca, hostKey, []string{"web.example"}, nil)
	forged.KeyId = "changed after signing"
	tests := []struct {
		name   string
		text   string
		h      Host
		cert   *ssh.Certificate
		want   Status
		reason string
	}{
		{"trusted CA", caLine, h, good, OK, ""},
		{"CA for other names", kline("@cert-authority", "other", ca.PublicKey()), h, good, New, "no @cert-authority"},
		{"other CA", caLine, h, hostCert(t, otherCA, hostKey, []string{"web.example"}, nil), New, "no @cert-authority"},
		{"principal with port is no principal", caLine, h, hostCert(t, ca, hostKey, []string{T}, nil), New, "principal"},
		{"no principals: any host", caLine, h, hostCert(t, ca, hostKey, nil, nil), OK, ""},
		{"alias as principal", kline("@cert-authority", "alias", ca.PublicKey()), Host{Name: "web.example", Port: 2222, Alias: "Alias"},
			hostCert(t, ca, hostKey, []string{"alias"}, nil), OK, ""},
		{"user certificate", caLine, h, hostCert(t, ca, hostKey, nil, func(c *ssh.Certificate) { c.CertType = ssh.UserCert }), New, "not a host certificate"},
		{"expired", caLine, h, hostCert(t, ca, hostKey, nil, func(c *ssh.Certificate) { c.ValidBefore = 1000 }), New, "expired"},
		{"not yet valid", caLine, h, hostCert(t, ca, hostKey, nil, func(c *ssh.Certificate) { c.ValidAfter = 1 << 40 }), New, "not yet valid"},
		{"critical options", caLine, h, hostCert(t, ca, hostKey, nil, func(c *ssh.Certificate) {
			c.CriticalOptions = map[string]string{"force-command": "x"}
		}), New, "critical"},
		{"bad signature", caLine, h, forged, New, "signature"},
		{"revoked CA", caLine + kline("@revoked", "*", ca.PublicKey()), h, good, Revoked, ""},
		{"revoked host key", caLine + kline("@revoked", "*", hostKey), h, good, Revoked, ""},
		{"revoked CA for another name", caLine + kline("@revoked", "other", ca.PublicKey()), h, good, OK, ""},
		{"refused certificate judged as its plain key", caLine + kline("", T, hostKey), h, hostCert(t, otherCA, hostKey, nil, nil), OK, "no @cert-authority"},
		{"plain key of a refused certificate changed", caLine + kline("", T, edKey(t).PublicKey()), h, hostCert(t, otherCA, hostKey, nil, nil), Changed, ""},
		{"CA on the bare name (fallback)", kline("@cert-authority", "web.example", ca.PublicKey()), h, good, OK, ""},
		{"CA on the bare name, other principal", kline("@cert-authority", "web.example", ca.PublicKey()), h, hostCert(t, ca, hostKey, []string{"other"}, nil), New, "principal"},
		{"plain key on the bare name (fallback)", kline("", "web.example", hostKey), h, good, OK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.text, tc.h, tc.cert)
			assert.Equal(t, tc.want, res.Status, "reason %q", res.CertReason)
			assert.Contains(t, res.CertReason, tc.reason)
			if tc.want == New {
				// What accept-new would record: the plain key.
				assert.Equal(t, hostKey.Marshal(), res.Key.Marshal())
			}
		})
	}
}

func TestHostKeyAlgorithms(t *testing.T) {
	ed, other := edKey(t).PublicKey(), edKey(t).PublicKey()
	r := rsaKey(t)
	ec384 := ecKey(t, elliptic.P384())
	h := Host{Name: "web", Port: 2222}
	T := "[web]:2222"
	def := DefaultAlgorithms()
	tests := []struct {
		name, text, config string
		want               []string // the first algorithms
		all                []string // the whole list, when set
	}{
		{name: "nothing known: the default", text: "", all: def},
		{name: "ed25519 known: verbatim", text: kline("", T, ed), all: def},
		{name: "a wrong ed25519 key counts as ed25519 known", text: kline("", T, r) + kline("", T, other), all: def},
		{name: "rsa known", text: kline("", T, r), want: []string{"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519-cert-v01@openssh.com"}},
		{name: "ecdsa curve matters", text: kline("", T, ec384), want: []string{"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384", "ssh-ed25519-cert-v01@openssh.com"}},
		{name: "CA: every certificate algorithm first", text: kline("@cert-authority", "*", ed) + kline("", T, r),
			want: []string{"ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
				"ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
				"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519"}},
		{name: "a revoked known key does not count", text: kline("@revoked", "*", ed) + kline("", T, ed) + kline("", T, r), want: []string{"rsa-sha2-512-cert-v01@openssh.com"}},
		{name: "other names do not count", text: kline("", "web", r), all: def},
		{name: "explicit list as written", text: kline("", T, r), config: "ssh-ed25519,rsa-sha2-256", all: []string{"ssh-ed25519", "rsa-sha2-256"}},
		{name: "explicit patterns expand in OpenSSH's order", config: "rsa-sha2-*", all: []string{"rsa-sha2-256", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com"}},
		{name: "^ is not reordered", text: kline("", T, r), config: "^ssh-ed25519", want: []string{"ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com"}},
		{name: "+ appends and reorders", text: kline("", T, r), config: "+ssh-rsa", want: []string{"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com"}},
		{name: "- removes and reorders", text: kline("", T, r), config: "-ssh-ed25519*", want: []string{"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256-cert-v01@openssh.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &DB{entries: Parse("kh", []byte(tc.text))}
			got, err := db.HostKeyAlgorithms(h, tc.config)
			require.NoError(t, err)
			if tc.all != nil {
				assert.Equal(t, tc.all, got)
			}
			if tc.want != nil {
				require.GreaterOrEqual(t, len(got), len(tc.want))
				assert.Equal(t, tc.want, got[:len(tc.want)])
			}
			if tc.config == "-ssh-ed25519*" {
				assert.NotContains(t, got, "ssh-ed25519")
			}
		})
	}
	for _, bad := range []string{"no-such-alg", "ssh-ed25519,!ssh-rsa", "+bogus", "x*"} {
		_, err := (&DB{}).HostKeyAlgorithms(h, bad)
		assert.Error(t, err, bad)
		if err != nil {
			assert.Contains(t, err.Error(), bad)
		}
	}
	got, err := (&DB{}).HostKeyAlgorithms(h, "RSA,ssh-ed25519")
	require.NoError(t, err, "short key type names are accepted, and match nothing")
	assert.Equal(t, []string{"ssh-ed25519"}, got)
	_, err = (&DB{}).HostKeyAlgorithms(h, "-*")
	assert.Error(t, err, "nothing left")
}

func TestLine(t *testing.T) {
	k := edKey(t).PublicKey()
	assert.Equal(t, "[web]:2222 "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))+"\n", Line("[WEB]:2222", k, false))
	l := Line("[WEB]:2222", k, true)
	f := strings.Fields(l)
	require.Len(t, f, 3)
	assert.True(t, HashMatches(f[0], "[web]:2222"), "hashed after lowercasing: %s", l)
	assert.True(t, strings.HasSuffix(l, "\n"))
	ca := edKey(t)
	cert := hostCert(t, ca, k, nil, nil)
	assert.Equal(t, Line("h", k, false), Line("h", cert, false), "a certificate is recorded as its plain key")

	assert.True(t, CanRecord("web.example"))
	for _, c := range "@?*#[]|'\"\\" {
		assert.False(t, CanRecord("we"+string(c)+"b"), "%c", c)
	}
}

func TestAdd(t *testing.T) {
	dir := t.TempDir()
	kh := filepath.Join(dir, "sub", "known_hosts")
	keys := make([]ssh.PublicKey, 4)
	for i := range keys {
		keys[i] = edKey(t).PublicKey()
	}
	host := func(i int) Host { return Host{Name: fmt.Sprintf("h%d", i), Port: 2200 + i} }
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			r, err := Add(kh, host(g%4), keys[g%4], g%2 == 0)
			assert.NoError(t, err)
			assert.Contains(t, []Status{New, OK}, r.Status)
		})
	}
	wg.Wait()
	b, err := os.ReadFile(kh)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	assert.Len(t, lines, 4, "one line per host:\n%s", b)
	fi, err := os.Stat(kh)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	db, err := Load(kh)
	require.NoError(t, err)
	for i := range keys {
		assert.Equal(t, OK, db.Check(host(i), keys[i], time.Now()).Status)
	}

	// A changed key is not recorded.
	r, err := Add(kh, host(0), edKey(t).PublicKey(), false)
	require.NoError(t, err)
	assert.Equal(t, Changed, r.Status)
	b2, err := os.ReadFile(kh)
	require.NoError(t, err)
	assert.Equal(t, b, b2)

	// A last line without a newline gets one first.
	f2 := filepath.Join(dir, "kh2")
	require.NoError(t, os.WriteFile(f2, []byte("# no newline"), 0o600))
	_, err = Add(f2, Host{Name: "x"}, keys[0], false)
	require.NoError(t, err)
	b, err = os.ReadFile(f2)
	require.NoError(t, err)
	assert.Equal(t, "# no newline\n"+Line("x", keys[0], false), string(b))
}
