// Package sshtest starts real OpenSSH sshd processes on 127.0.0.1 for tests
// and benchmarks, and a TCP proxy for fault injection.
//
// A [Cluster] is n nodes named "node1" … "nodeN". Each node is one sshd with
// its own directory, port, host keys and home directory. The nodes share one
// client key pair, one ssh_config and one known_hosts file, so the OpenSSH
// client and an ssh_config-aware Go client reach them the same way:
//
//	c := sshtest.StartCluster(t, 3, nil) // skips when sshd is missing
//	out, err := exec.Command("ssh", "-F", c.ConfigFile(), "node1", "pwd").Output()
//	// out is c.Node(1).Home() + "\n"
//
// [StartCluster] is for tests and benchmarks (cleanup through tb.Cleanup);
// [Start] and [Cluster.Close] are for programs such as a benchmark driver.
//
// # Requirements
//
// Linux (/proc), the Debian package openssh-server (sshd and sftp-server),
// and, for the tests of this package, openssh-client. The package
// libnss-wrapper is recommended; see Home directories. Without sshd,
// StartCluster skips the test, or fails it when the environment variable
// DPROC_REQUIRE_SSHD is "1" (as CI sets it). It works for an unprivileged
// user and for root; as root it creates /run/sshd, which sshd requires.
//
// # Files
//
// The cluster directory holds id_ed25519 and id_ed25519.pub (the client key,
// mode 0600, also available as an ssh.Signer from [Cluster.Signer]),
// authorized_keys, ssh_config and known_hosts. The ssh_config has one entry
// per node:
//
//	Host node1
//	  HostName 127.0.0.1
//	  Port 40123
//	  User <login user>
//	  IdentityFile <dir>/id_ed25519
//	  IdentitiesOnly yes
//	  UserKnownHostsFile <dir>/known_hosts
//	  StrictHostKeyChecking yes
//	  BatchMode yes
//
// and known_hosts lists every host key of every node as "[127.0.0.1]:port".
// [Cluster.AddAlias] adds an entry that reaches a node at another address
// (a [Proxy]) and lists the node's keys under that address too.
//
// [Options.HostCertificate] gives nodes host certificates ([SignHostCert]
// signs one); they are written next to the keys (ssh_host_TYPE_key-cert.pub)
// and named by HostCertificate lines, and [Node.HostCertificates] returns
// them. The cluster's known_hosts lists the plain keys only.
//
// Each node's directory (nodeN/) holds its sshd_config, host keys, pid file,
// log (sshd's stderr, kept across restarts: [Node.LogFile]) and its home
// (nodeN/home). sshd runs as "sshd -D -e -f nodeN/sshd_config" with UsePAM
// no, StrictModes no, public key authentication only, PermitRootLogin
// prohibit-password, LogLevel VERBOSE, PerSourcePenalties no where sshd
// knows it (9.8 and later), and MaxSessions and MaxStartups left at
// OpenSSH's defaults (10 and 10:30:100) unless [Options] sets them.
// [Options.Stock] writes those two defaults out, so that a test of how a
// client copes with a real server's limits (sessions per connection,
// unauthenticated connections dropped at random) gets them whatever the
// installed sshd's compiled-in defaults are. The
// sftp subsystem is the external sftp-server program, so SFTP sessions are
// ordinary processes of the node.
//
// # Home directories
//
// Every node logs in the same Unix user, but each has its own home: commands
// start there, $HOME and ~ name it, and relative SFTP and scp paths resolve
// there. Two mechanisms provide this ([HomeMode]):
//
// [HomeNSSWrapper] (used when libnss_wrapper.so is installed): sshd runs
// with LD_PRELOAD=libnss_wrapper.so and NSS_WRAPPER_PASSWD pointing at a copy
// of /etc/passwd in which the login user's home is the node home (and its
// shell is [Options.Shell] when set). sshd looks the user up through that
// file, so it changes to the node home, sets HOME and starts the login shell
// (and sftp-server) there, as for any account. sshd builds each session's
// environment from scratch, so LD_PRELOAD does not reach commands. Nothing
// about sessions differs from a real host.
//
// [HomeForceCommand] (the fallback): sshd_config has "ForceCommand
// nodeN/session.sh". sshd then runs that script through the login shell for
// every session, exec and subsystem alike, with the requested command in
// $SSH_ORIGINAL_COMMAND; for the sftp subsystem that variable holds the
// subsystem's command line (the sftp-server path), so the script serves SFTP
// too. The script changes to the node home, sets HOME (and SHELL), unsets
// SSH_ORIGINAL_COMMAND and runs "$SHELL -c "$SSH_ORIGINAL_COMMAND"", or a
// login shell when there is no command. sftp-server inherits the node home as
// its working directory, so relative paths land there. The difference from a
// real host: sshd refuses "signal" requests for forced commands, so
// ssh.Session.Signal does nothing (internal-sftp cannot be used either).
//
// # Signals, root and Options.User
//
// OpenSSH 9.2 also refuses "signal" requests when the login user is root
// (post-authentication privilege separation is skipped for root; sshd logs
// "session signalling requires privilege separation"). [Cluster.SignalsWork]
// reports whether signals reach commands. A test that runs as root can set
// [Options.User] (e.g. "nobody") to run each sshd as that unprivileged user,
// exactly as a non-root account would run it; signals then work under
// HomeNSSWrapper.
//
// # Process control
//
// Every process of a node carries the environment entry
// DPROC_SSHTEST_NODE=<cluster token>-nodeN: sshd is started with it and
// passes it to every session through sshd_config SetEnv. A session process
// thus stays identifiable after it is re-parented to init (a background job,
// or an orphan whose connection died). [Node.Processes] lists a node's live
// processes (the marked ones and the sshd's descendants; zombies are left
// out) whose command line contains a pattern, so a test can prove that a
// cancelled worker is gone. [Node.Kill] sends SIGKILL to all of them and
// waits until they are gone; [Node.Stop] sends SIGTERM first; [Node.Freeze]
// sends SIGSTOP to all of them (the node accepts TCP connections into the
// kernel backlog but never answers) and returns once all are stopped;
// [Node.Thaw] resumes them; [Node.Start] and [Node.Restart] bring sshd back
// on the same port with the same host keys, so known_hosts stays valid.
//
// # Faults on the wire
//
// [Proxy] forwards TCP connections to a target. [Proxy.CutAll] resets every
// forwarded connection mid-stream, [Proxy.Pause] stops moving bytes without
// closing anything (a silent network) until [Proxy.Resume], and
// [Proxy.SetRefuse] closes new connections at once.
//
// # Why the package is internal
//
// Users of dproc testing their own code want what this package does, as
// net/http/httptest gives HTTP code a real server. It stays internal for
// now, because exporting it would freeze an API that is not ready:
//
//   - It is still changing: stock limits ([Options.Stock]) and host
//     certificates ([Options.HostCertificate]) were added late, and the
//     fault controls (Freeze, Proxy) are shaped by dproc's own tests.
//   - It is tried on one installation only: Linux (/proc for process
//     control) with Debian's openssh-server and libnss-wrapper. sshd and
//     sftp-server can be named ([Options.Sshd], [Options.SftpServer]),
//     but libnss_wrapper.so is looked for in a few fixed library
//     directories, and the sshd_config it writes is checked against
//     Debian's OpenSSH releases only.
//   - Its signatures carry x/crypto/ssh types ([Cluster.Signer],
//     [Cluster.ClientConfig]) and testing.TB, so an exported version would
//     tie its users to those choices.
//
// It becomes worth exporting (as a package such as dproc/sshtest) when
// Options can name the nss_wrapper library too and other distributions'
// OpenSSH are checked in CI, its surface is cut
// to what a user's test needs (StartCluster, Cluster.ConfigFile and Hosts,
// Node Kill, Stop, Freeze, Thaw and Restart, Proxy) with the x/crypto
// helpers kept out or behind their own type, and it has gone a release
// without changes to that surface. Until then, a user's tests can run on
// memtransport (a fake with scripted hosts) or localtransport (real local
// processes), and a user's own Transport can be checked with
// transport/transporttest.
package sshtest
