// Package redistest runs a throwaway redis-server for tests: a real server
// on a free loopback port, not a fake.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	port int
	dir  string
	args []string // more redis-server arguments
}

// Start runs redis-server on a free port until the test ends. Without the
// binary the test is skipped with a loud message, except under CI (CI set),
// where it fails: there the Redis tests must run.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartWith(tb)
}

// StartWith is Start with more redis-server arguments.
func StartWith(tb testing.TB, args ...string) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server is not installed (apt-get install redis-server): SKIPPING the Redis tests"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg + ", which CI must run")
		}
		fmt.Fprintln(os.Stderr, "!!!", msg)
		tb.Skip(msg)
	}
	port := freePort(tb)
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, dir: tb.TempDir(), args: args}
	s.start(tb)
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

func (s *Server) start(tb testing.TB) {
	tb.Helper()
	s.cmd = exec.Command("redis-server", append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir}, s.args...)...)
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
			fmt.Fprint(conn, "PING\r\n")
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			// A server started with --requirepass answers NOAUTH: it is up.
			if line == "+PONG\r\n" || strings.HasPrefix(line, "-NOAUTH") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("redis-server did not answer within 10 s")
}

// Stop kills the server; its data is gone.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts a stopped server again on the same port, empty.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	s.start(tb)
}

// Cluster is a running Redis Cluster of primaries without replicas.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the primaries' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// URL is the cluster's URL for go-redis's ParseClusterURL: the first node,
// and the others as addr parameters.
func (c *Cluster) URL() string {
	u := c.Nodes[0].URL()
	for i, n := range c.Nodes[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + n.Addr
	}
	return u
}

// StartCluster runs a Redis Cluster of n primaries (redis-server with
// --cluster-enabled yes, joined by redis-cli --cluster create) on free
// loopback ports until the test ends, skipping or failing as Start does
// without the binaries.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		Start(tb) // skips or fails with the same message
	}
	c := &Cluster{}
	for range n {
		// A node's bus listens on its port + 10000 unless told otherwise,
		// which a port from the kernel's ephemeral range can push past
		// 65535: each node gets a free bus port of its own.
		c.Nodes = append(c.Nodes, StartWith(tb, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
			"--cluster-port", strconv.Itoa(freePort(tb))))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must agree the cluster is up before it is used.
	deadline := time.Now().Add(20 * time.Second)
	for _, node := range c.Nodes {
		for {
			out, _ := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(node.port), "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cluster not ok on %s within 20 s:\n%s", node.Addr, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c
}

// Sentinel is a running redis-sentinel watching one primary.
type Sentinel struct {
	Addr    string
	Primary *Server
	cmd     *exec.Cmd
}

// SentinelMaster is the name the Sentinel knows the primary by.
const SentinelMaster = "totp-primary"

// URL is the Sentinel's URL for go-redis's ParseFailoverURL.
func (s *Sentinel) URL() string {
	return "redis://" + s.Addr + "?master_name=" + SentinelMaster
}

// StartSentinel runs a primary and one Sentinel (redis-server --sentinel)
// that monitors it, on free loopback ports, until the test ends.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	primary := Start(tb)
	port := freePort(tb)
	conf := filepath.Join(tb.TempDir(), "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor %s 127.0.0.1 %d 1\n", port, SentinelMaster, primary.port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	s := &Sentinel{Addr: fmt.Sprintf("127.0.0.1:%d", port), Primary: primary, cmd: exec.Command("redis-server", conf, "--sentinel")}
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("redis-cli", "-p", strconv.Itoa(port), "sentinel", "get-master-addr-by-name", SentinelMaster).Output()
		if strings.Contains(string(out), strconv.Itoa(primary.port)) {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the Sentinel did not name its primary within 10 s: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
