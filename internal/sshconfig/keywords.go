package sshconfig

import "strings"

// op is how a keyword's value is read.
type op int

const (
	opFlag op = iota
	opMulti
	opTime
	opInt
	opString
	opCommand  // raw rest of the line
	opList     // UserKnownHostsFile and the like: the first line wins whole
	opConsume  // deprecated, ignored or unsupported: any value
	opSpecial  // handled by name
	opAlgoList // Ciphers, MACs, KexAlgorithms, key types
)

type keyword struct {
	name   string // canonical name (ssh -G's)
	op     op
	states []string // opMulti: accepted values (case-insensitive)
	algos  []string // opAlgoList: known names
	keys   bool     // opAlgoList: key types (wildcards allowed)
}

var (
	flagStates        = []string{"true", "false", "yes", "no"}
	yesNoAskStates    = []string{"true", "false", "yes", "no", "ask"}
	strictStates      = []string{"true", "false", "yes", "no", "ask", "off", "accept-new"}
	controlStates     = []string{"true", "yes", "false", "no", "auto", "ask", "autoask"}
	tunnelStates      = []string{"ethernet", "point-to-point", "true", "yes", "false", "no"}
	requestTTYStates  = []string{"true", "yes", "false", "no", "force", "auto"}
	sessionStates     = []string{"none", "subsystem", "default"}
	canonicalStates   = []string{"true", "false", "yes", "no", "always"}
	pubkeyAuthStates  = []string{"true", "false", "yes", "no", "unbound", "host-bound"}
	compressionStates = []string{"yes", "no"}
	addrFamilyStates  = []string{"inet", "inet6", "any"}

	cipherNames = strings.Fields("3des-cbc aes128-cbc aes192-cbc aes256-cbc aes128-ctr aes192-ctr aes256-ctr aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com")
	macNames    = strings.Fields("hmac-sha1 hmac-sha1-96 hmac-sha2-256 hmac-sha2-512 hmac-md5 hmac-md5-96 umac-64@openssh.com umac-128@openssh.com hmac-sha1-etm@openssh.com hmac-sha1-96-etm@openssh.com hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com hmac-md5-etm@openssh.com hmac-md5-96-etm@openssh.com umac-64-etm@openssh.com umac-128-etm@openssh.com")
	kexNames    = strings.Fields("diffie-hellman-group1-sha1 diffie-hellman-group14-sha1 diffie-hellman-group14-sha256 diffie-hellman-group16-sha512 diffie-hellman-group18-sha512 diffie-hellman-group-exchange-sha1 diffie-hellman-group-exchange-sha256 ecdh-sha2-nistp256 ecdh-sha2-nistp384 ecdh-sha2-nistp521 curve25519-sha256 curve25519-sha256@libssh.org sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com")
	keyNames    = strings.Fields("ssh-ed25519 ssh-ed25519-cert-v01@openssh.com sk-ssh-ed25519@openssh.com sk-ssh-ed25519-cert-v01@openssh.com ecdsa-sha2-nistp256 ecdsa-sha2-nistp256-cert-v01@openssh.com ecdsa-sha2-nistp384 ecdsa-sha2-nistp384-cert-v01@openssh.com ecdsa-sha2-nistp521 ecdsa-sha2-nistp521-cert-v01@openssh.com sk-ecdsa-sha2-nistp256@openssh.com sk-ecdsa-sha2-nistp256-cert-v01@openssh.com webauthn-sk-ecdsa-sha2-nistp256@openssh.com ssh-dss ssh-dss-cert-v01@openssh.com ssh-rsa ssh-rsa-cert-v01@openssh.com rsa-sha2-256 rsa-sha2-256-cert-v01@openssh.com rsa-sha2-512 rsa-sha2-512-cert-v01@openssh.com")
)

// keywords are those of OpenSSH 9.2 as Debian builds it (with GSSAPI and
// PKCS#11), by lowercase name.
var keywords = map[string]keyword{}

func init() {
	add := func(k keyword, names ...string) {
		if len(names) == 0 {
			names = []string{k.name}
		}
		for _, n := range names {
			keywords[n] = k
		}
	}
	for _, n := range []string{
		"forwardx11", "forwardx11trusted", "gatewayports", "exitonforwardfailure",
		"passwordauthentication", "hostbasedauthentication", "gssapiauthentication",
		"gssapidelegatecredentials", "gssapikeyexchange", "gssapitrustdns",
		"gssapirenewalforcesrekey", "batchmode", "checkhostip",
		"nohostauthenticationforlocalhost", "clearallforwardings", "enablesshkeysign",
		"identitiesonly", "hashknownhosts", "permitlocalcommand", "visualhostkey",
		"stdinnull", "forkafterauthentication", "proxyusefdpass",
		"canonicalizefallbacklocal", "streamlocalbindunlink", "enableescapecommandline",
	} {
		add(keyword{name: n, op: opFlag, states: flagStates})
	}
	add(keyword{name: "kbdinteractiveauthentication", op: opFlag, states: flagStates},
		"kbdinteractiveauthentication", "challengeresponseauthentication", "skeyauthentication", "tisauthentication")
	add(keyword{name: "tcpkeepalive", op: opFlag, states: flagStates}, "tcpkeepalive", "keepalive")
	add(keyword{name: "verifyhostkeydns", op: opMulti, states: yesNoAskStates})
	add(keyword{name: "updatehostkeys", op: opMulti, states: yesNoAskStates})
	add(keyword{name: "stricthostkeychecking", op: opMulti, states: strictStates})
	add(keyword{name: "compression", op: opMulti, states: compressionStates})
	add(keyword{name: "addressfamily", op: opMulti, states: addrFamilyStates})
	add(keyword{name: "controlmaster", op: opMulti, states: controlStates})
	add(keyword{name: "tunnel", op: opMulti, states: tunnelStates})
	add(keyword{name: "requesttty", op: opMulti, states: requestTTYStates})
	add(keyword{name: "sessiontype", op: opMulti, states: sessionStates})
	add(keyword{name: "canonicalizehostname", op: opMulti, states: canonicalStates})
	add(keyword{name: "pubkeyauthentication", op: opMulti, states: pubkeyAuthStates}, "pubkeyauthentication", "dsaauthentication")
	for _, n := range []string{"connecttimeout", "forwardx11timeout", "serveraliveinterval"} {
		add(keyword{name: n, op: opTime})
	}
	for _, n := range []string{"numberofpasswordprompts", "connectionattempts", "serveralivecountmax", "canonicalizemaxdots", "requiredrsasize"} {
		add(keyword{name: n, op: opInt})
	}
	for _, n := range []string{
		"kbdinteractivedevices", "xauthlocation", "user", "hostname", "hostkeyalias",
		"preferredauthentications", "bindaddress", "bindinterface", "securitykeyprovider",
		"controlpath", "ignoreunknown", "revokedhostkeys", "gssapiclientidentity",
		"gssapiserveridentity", "gssapikexalgorithms",
	} {
		add(keyword{name: n, op: opString})
	}
	add(keyword{name: "pkcs11provider", op: opString}, "pkcs11provider", "smartcarddevice")
	for _, n := range []string{"proxycommand", "localcommand", "remotecommand", "knownhostscommand"} {
		add(keyword{name: n, op: opCommand})
	}
	for _, n := range []string{"globalknownhostsfile", "userknownhostsfile", "logverbose"} {
		add(keyword{name: n, op: opList})
	}
	for _, n := range []string{
		"protocol", "cipher", "fallbacktorsh", "globalknownhostsfile2", "rhostsauthentication",
		"userknownhostsfile2", "useroaming", "usersh", "useprivilegedport", "afstokenpassing",
		"kerberosauthentication", "kerberostgtpassing", "rsaauthentication",
		"rhostsrsaauthentication", "compressionlevel",
	} {
		add(keyword{name: n, op: opConsume})
	}
	add(keyword{name: "ciphers", op: opAlgoList, algos: cipherNames})
	add(keyword{name: "macs", op: opAlgoList, algos: macNames})
	add(keyword{name: "kexalgorithms", op: opAlgoList, algos: kexNames})
	add(keyword{name: "hostkeyalgorithms", op: opAlgoList, algos: keyNames, keys: true})
	add(keyword{name: "casignaturealgorithms", op: opAlgoList, algos: keyNames, keys: true})
	add(keyword{name: "hostbasedacceptedalgorithms", op: opAlgoList, algos: keyNames, keys: true}, "hostbasedacceptedalgorithms", "hostbasedkeytypes")
	add(keyword{name: "pubkeyacceptedalgorithms", op: opAlgoList, algos: keyNames, keys: true}, "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes")
	for _, n := range []string{
		"host", "match", "include", "forwardagent", "rekeylimit", "certificatefile",
		"proxyjump", "port", "loglevel", "syslogfacility", "localforward", "remoteforward",
		"dynamicforward", "permitremoteopen", "escapechar", "sendenv", "setenv",
		"controlpersist", "tunneldevice", "ipqos", "canonicaldomains",
		"canonicalizepermittedcnames", "streamlocalbindmask", "fingerprinthash",
		"addkeystoagent", "identityagent",
	} {
		add(keyword{name: n, op: opSpecial})
	}
	add(keyword{name: "identityfile", op: opSpecial}, "identityfile", "identityfile2")
}

var (
	logLevels      = []string{"quiet", "fatal", "error", "info", "verbose", "debug", "debug1", "debug2", "debug3"}
	logFacilities  = []string{"daemon", "user", "auth", "authpriv", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	fingerprintAlg = []string{"md5", "sha1", "sha256", "sha384", "sha512"}
	ipqosNames     = strings.Fields("af11 af12 af13 af21 af22 af23 af31 af32 af33 af41 af42 af43 cs0 cs1 cs2 cs3 cs4 cs5 cs6 cs7 ef le lowdelay throughput reliability")
)

func inFold(v string, set []string) bool {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validAlgos checks a comma-separated algorithm list as ssh does (key type
// lists may use wildcards); like ssh, it stops at an empty element.
func validAlgos(list string, known []string, wildcard bool) bool {
	if list == "" {
		return false
	}
	for _, n := range strings.Split(list, ",") {
		if n == "" {
			break
		}
		ok := false
		for _, k := range known {
			if n == k {
				ok = true
				break
			}
		}
		if !ok && wildcard && n != "" {
			for _, k := range known {
				if matchList(k, n, false) == 1 {
					ok = true
					break
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
