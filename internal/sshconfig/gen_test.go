package sshconfig

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// generateCases makes n random cases from seed: a config file, sometimes
// with included files, and a host argument.
func generateCases(seed uint64, n int, fakePw bool) []diffCase {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	aliases := []string{"web", "Web", "web1", "web12", "db.internal", "x.example.com", "bastion", "10.0.0.7", "127.1", "Mixed.Case"}
	pattern := func() string {
		a := aliases[rng.IntN(len(aliases))]
		switch rng.IntN(9) {
		case 0:
			return a[:1+rng.IntN(len(a))] + "*"
		case 1:
			return strings.Replace(a, a[len(a)-1:], "?", 1)
		case 2:
			return "!" + a
		case 3:
			return "*"
		case 4:
			return `"` + a + `"`
		case 5:
			return "*." + pick("internal", "example.com", "com")
		case 6:
			return a + "," + pick("web", "db")
		}
		return a
	}
	patterns := func() string {
		k := 1 + rng.IntN(3)
		var ps []string
		for i := 0; i < k; i++ {
			ps = append(ps, pattern())
		}
		return strings.Join(ps, pick(" ", "\t", "  "))
	}
	header := func() string {
		switch rng.IntN(14) {
		case 0, 1, 2, 3, 4, 5:
			return pick("Host ", "Host\t", "host ", "Host=", "HOST ") + patterns()
		case 6:
			return "Match host " + strings.ReplaceAll(patterns(), " ", ",")
		case 7:
			return "Match " + pick("", "!") + "originalhost " + pattern()
		case 8:
			return "Match user " + pick("root", "bob", "cfg*", "!bob,*", "u1")
		case 9:
			return "Match localuser " + pick("root", "nobody", "*", "!root")
		case 10:
			return "Match " + pick("all", "canonical", "final", "!final", "final host web*", "host web* user bob", "host=web")
		case 11:
			return "Match " + pick("host web user u1", "!host web", "host !web,*", "originalhost=web", "user=root")
		case 12:
			return "Match host " + pick("real*", "*.example.org", "10.*", "mixed.case")
		}
		return "Host *"
	}
	tilde := "~dproc-nosuchuser/k"
	if fakePw {
		tilde = "~dproc-alice/k"
	}
	// bad are lines that ssh rejects (in any block); each config gets
	// one with a small probability, so most cases resolve.
	bad := []string{
		"HostName %z", "HostName %p.x", "Port 0", "Port 0x16", "Port 65536", "IdentityFile ${DPROC_UNSET}/k",
		"IdentityFile /k/%q", "IdentityFile /k/${DPROC_T1", "IdentityFile ~dproc-nosuchuser/k", "ProxyJump a, b", "ProxyJump u@@j:0",
		"ProxyJump j:0", "ProxyCommand 'unclosed", "UserKnownHostsFile none /x", "UserKnownHostsFile /kh/%Q",
		"StrictHostKeyChecking maybe", "HostKeyAlgorithms bogus", "ConnectTimeout 1.5", "ConnectTimeout -1",
		"ServerAliveInterval x", "ServerAliveCountMax x", "ServerAliveCountMax -1", "IdentitiesOnly maybe",
		"FooBar yes", "UseKeychain yes", "ServerAliveCountMax", "User", "Cipher", "User a b", "Match exec \"true\"",
		"Match tagged x", "Match all host x", "Match bogus x", "Match host", "User \"unclosed",
	}
	// odd are lines of the keywords dproc ignores, with values at the
	// edge of what ssh accepts (some rejected), and odd forms of lines.
	odd := []string{
		"EscapeChar none", "EscapeChar ~~", "EscapeChar ^A", "IPQoS 0x10", "IPQoS 256", "IPQoS af11 bogus",
		"RekeyLimit 15", "RekeyLimit default none", "RekeyLimit 1K 10m", "ControlPersist 10m", "ControlPersist YES",
		"TunnelDevice any:3", "TunnelDevice x", "StreamLocalBindMask 0777", "StreamLocalBindMask 0800", "StreamLocalBindMask 9",
		"AddKeysToAgent confirm 5m", "AddKeysToAgent 1h", "AddKeysToAgent yes 5m", "ForwardAgent /run/agent.sock",
		"ForwardAgent ${DPROC_NOPE}", "ForwardAgent ${DPROC_T1}", "IdentityAgent SSH_AUTH_SOCK", "IdentityAgent $BAD-NAME",
		"IdentityAgent none", "SendEnv A=B", "SendEnv -LC_*", "SetEnv X", "SetEnv A=1 B=2", "PermitRemoteOpen any",
		"PermitRemoteOpen host:*", "PermitRemoteOpen any none", "LogLevel DEBUG4", "LogLevel debug3", "SyslogFacility LOCAL8",
		"SyslogFacility local7", "FingerprintHash sha1", "FingerprintHash sha3", "LocalForward 8080", "RemoteForward 8080",
		"DynamicForward 1080", "CanonicalDomains a..b", "CanonicalDomains example.com", "CanonicalizePermittedCNAMEs *.a.com:*.b.com",
		"CanonicalizePermittedCNAMEs x", "Compression maybe", "Tunnel ethernet", "RequestTTY force", "SessionType subsystem",
		"PubkeyAuthentication host-bound", "KexAlgorithms +sntrup761x25519-sha512@openssh.com", "Ciphers aes128-ctr,bogus",
		"Ciphers ^aes128-ctr", "MACs -hmac-md5", "MACs hmac-sha1,", "UpdateHostKeys ask", "VerifyHostKeyDNS ask",
		"NumberOfPasswordPrompts 0x3", "NumberOfPasswordPrompts 3", "ConnectionAttempts 2", "RequiredRSASize 2048",
		"PKCS11Provider none", "SecurityKeyProvider internal", "KbdInteractiveDevices pam", "BindAddress 127.0.0.1",
		"UseRoaming no", "RSAAuthentication yes", "KeepAlive yes", "ChallengeResponseAuthentication no",
		"PubkeyAcceptedKeyTypes +ssh-rsa", "HostbasedKeyTypes ssh-ed25519*", "CASignatureAlgorithms ssh-ed25519",
		"GSSAPIKeyExchange yes", "GSSAPITrustDNS no", "GSSAPIDelegateCredentials maybe", "ClearAllForwardings yes",
		"LogVerbose kex.c:*", "LogVerbose none x", "User \"\"", "HostName \"\"", "Port 22#x", "User bob#x",
		"\"User\" quoted", "User\t\t tabbed", "User=\"eq quoted\"", "HostKeyAlias \"\"", "IdentityFile \"\"",
		"ProxyJump =j", "ProxyCommand=none", "RemoteCommand echo %h", "RemoteCommand echo %z", "LocalCommand echo %z",
		"ControlPath /tmp/%z", "ControlPath none", "KnownHostsCommand none", "RevokedHostKeys none",
	}
	kv := func() string {
		if rng.IntN(40) == 0 {
			return pick(bad...)
		}
		if rng.IntN(10) == 0 {
			return pick(odd...)
		}
		switch rng.IntN(24) {
		case 0, 1:
			return "HostName " + pick("real.example.com", "%h.example.org", "UPPER.Example.COM", "10.1.2.3", "%%h", "%h%h", "Real", "0x7f.1", "db.internal")
		case 2, 3:
			return "User " + pick("alice", "bob", "'with space'", "a#b", `"quoted"`, "u1", "root", "cfg1")
		case 4:
			return "Port " + pick("2222", "022", "+22", "http", "ssh", "2201", "65535")
		case 5, 6:
			return "IdentityFile " + pick("~/.ssh/id_%h", "%d/k_%r", "${DPROC_T1}/k", tilde, `"/path with space/k"`,
				"/k/%C", "/k/%i-%L-%l-%u-%n-%p-%k", "none", "~", "/k/%%", "~/.ssh/id_ed25519", "~//k", "/k/${DPROC_SP}")
		case 7:
			return "ProxyJump " + pick("bastion", "u@jump:2200", "a,b", "none", "ssh://u@j:22", "[10.0.0.1]:22", "j#c", "u@v@j", "NONE", "a,b,c")
		case 8:
			return "ProxyCommand " + pick("none", "nc %h %p # comment", "ssh -W %h:%p x", "NONE")
		case 9:
			return "UserKnownHostsFile " + pick("~/kh1 ~/kh2", `"/p with space/kh"`, "none", "%d/kh_%h", "${DPROC_T1}/kh", "/kh/%k", "/kh/%C %n")
		case 10:
			return "GlobalKnownHostsFile " + pick("/etc/kh", "~/g", "none", "/a /b", tilde)
		case 11:
			return "StrictHostKeyChecking " + pick("yes", "no", "ask", "accept-new", "off", "true", "FALSE", "Accept-New")
		case 12:
			return "HostKeyAlias " + pick("alias1", "%h", "KA", "Mixed.Alias")
		case 13:
			return "HostKeyAlgorithms " + pick("ssh-ed25519", "rsa-sha2-512,ssh-ed25519", "+ssh-rsa", "ssh-ed*", "-ssh-rsa", "^ssh-ed25519")
		case 14:
			return "ConnectTimeout " + pick("10", "1m30s", "0", "none", "1M30", "1w", "1h1m1s", "090")
		case 15:
			return "ServerAliveInterval " + pick("5", "0", "none", "2m", "1d")
		case 16:
			return "ServerAliveCountMax " + pick("0", "5", "+3", "007")
		case 17:
			return pick("IdentitiesOnly ", "HashKnownHosts ", "CheckHostIP ") + pick("yes", "no", "YES", "True", "false")
		case 18:
			return pick("IgnoreUnknown Foo*", "IgnoreUnknown usekeychain,foo*", "IgnoreUnknown x")
		case 19:
			return pick("CanonicalizeHostname yes", "CanonicalizeHostname always", "CanonicalizeHostname no", "CanonicalizeMaxDots 0", "CanonicalDomains none")
		case 20:
			return pick("Compression yes", "ForwardAgent no", "SendEnv LANG LC_*", "SetEnv A=b", "LogLevel ERROR", "AddressFamily inet",
				"ControlMaster auto", "ControlPath ~/.ssh/cm-%C", "Protocol 2", "Cipher blowfish", "GSSAPIAuthentication yes",
				"RequestTTY no", "EscapeChar ^A", "IPQoS af21 cs1", "RekeyLimit 1G 1h", "LocalForward 8080 localhost:80", "TCPKeepAlive no")
		case 21:
			return "IdentityFile " + pick("/k/a", "/k/b", "/k/a")
		case 22:
			return "CertificateFile " + pick("/c/%h-cert.pub", "~/c")
		}
		return "Port 2201"
	}
	form := func(l string) string {
		k, v, _ := strings.Cut(l, " ")
		if v == "" {
			return l
		}
		switch rng.IntN(8) {
		case 0:
			return k + "=" + v
		case 1:
			return k + " = " + v
		case 2:
			return strings.ToLower(k) + "\t" + v
		case 3:
			return "  " + k + " " + v + " # trailing"
		}
		return "  " + k + " " + v
	}
	body := func() string {
		var b strings.Builder
		for i := rng.IntN(4); i >= 0; i-- {
			b.WriteString(form(kv()) + "\n")
		}
		return b.String()
	}
	hosts := []string{"web", "WEB", "web1", "web12", "db.internal", "x.example.com", "bastion", "10.0.0.7", "127.1", "Mixed.Case",
		"bob@web", "root@db.internal", "ssh://u1@web:2201", "other", "real.example.com", "0x7f.1", "u@@web"}

	var cases []diffCase
	for i := 0; i < n; i++ {
		files := map[string]string{}
		var cfg strings.Builder
		if rng.IntN(3) == 0 {
			cfg.WriteString(body())
		}
		blocks := 1 + rng.IntN(4)
		for j := 0; j < blocks; j++ {
			cfg.WriteString(header() + "\n" + body())
			if rng.IntN(5) == 0 {
				name := fmt.Sprintf("inc%d", j)
				switch rng.IntN(4) {
				case 0:
					files["envhome/.ssh/"+name] = header() + "\n" + body()
					cfg.WriteString("  Include " + name + "\n")
				case 1:
					files["d/"+name+".conf"] = body() + header() + "\n" + body()
					cfg.WriteString("Include CASEDIR/d/*.conf\n")
				case 2:
					files["sp ace/"+name] = body()
					cfg.WriteString(`  Include "CASEDIR/sp ace/` + name + `" CASEDIR/missing*` + "\n")
				default:
					// Two levels: an included file that includes
					// another, with Host and Match blocks in both.
					files["envhome/.ssh/"+name] = body() + header() + "\n" + body() + "Include " + name + "-deep\n" + body()
					files["envhome/.ssh/"+name+"-deep"] = header() + "\n" + body() + header() + "\n" + body()
					cfg.WriteString("  Include ~/.ssh/" + name + "\n")
				}
			}
		}
		if rng.IntN(4) == 0 {
			cfg.WriteString("Host *\n" + body())
		}
		files["cfg"] = cfg.String()
		cases = append(cases, diffCase{name: fmt.Sprintf("gen%d", i), files: files, host: hosts[rng.IntN(len(hosts))]})
	}
	return cases
}
