// Command forwardauth is the forward-auth comparison of `make bench`: it starts portcullis with
// its HTTP front (mode x-original, as behind nginx, an HTTP authorizer whose answer gets cached)
// and a bare Go net/http server answering 200, drives both with the same keep-alive HTTP/1.1
// requests at the same concurrency, in interleaved rounds, and prints cached allows per second,
// server CPU per request and the ratios of portcullis to the bare server (median and range over
// the rounds). Target: CPU per request no more than 1.5 times the bare server's.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis-dev/portcullis/test/load/loadkit"
)

// maxCPURatio is the target: server CPU per cached allow over the bare server's.
const maxCPURatio = 1.5

func main() {
	portcullis := flag.String("portcullis", "bin/portcullis", "portcullis binary")
	duration := flag.Duration("duration", 4*time.Second, "load duration per server and round")
	rounds := flag.Int("rounds", 5, "rounds, each running every server once in a rotating order")
	c := flag.Int("c", 32, "concurrent keep-alive connections")
	pin := flag.Bool("pin", true, "pin the servers to CPU 0 and the load client to CPU 1 (taskset)")
	extra := flag.String("portcullis-flags", "", "more `portcullis serve` flags, space-separated, e.g. \"--pprof --http-addr=127.0.0.1:8181\"")
	bare := flag.Bool("bare", false, "internal: serve the bare net/http baseline and print its address")
	flag.Parse()
	if *bare {
		serveBare()
		return
	}
	if *pin && os.Getenv("FORWARDAUTH_LOAD_PINNED") == "" {
		if ts, err := exec.LookPath("taskset"); err == nil {
			os.Exit(reexecPinned(ts))
		}
	}
	if err := run(*portcullis, strings.Fields(*extra), *duration, max(*rounds, 1), *c, *pin); err != nil {
		fmt.Fprintln(os.Stderr, "forwardauth load:", err)
		os.Exit(1)
	}
}

// reexecPinned runs this command again on CPU 1, so that the load client never takes the
// servers' CPU.
func reexecPinned(taskset string) int {
	self, err := os.Executable()
	if err != nil {
		return 1
	}
	cmd := exec.Command(taskset, append([]string{"-c", "1", self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), "FORWARDAUTH_LOAD_PINNED=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// serveBare is the baseline: net/http's server with a handler that answers 200 and nothing else.
func serveBare() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(lis.Addr().String())
	err = http.Serve(lis, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

type server struct {
	name string
	cmd  *exec.Cmd
	addr string
	// check says whether an answer's head is the expected one (a cached allow for portcullis).
	check func(head []byte) bool
}

type result struct {
	rps, cpuUS float64
	errors     int
}

func run(bin string, extra []string, d time.Duration, rounds, c int, pin bool) error {
	authz, err := loadkit.StartAuthorizer()
	if err != nil {
		return err
	}
	defer func() { _ = authz.Close() }()
	dir, err := os.MkdirTemp("", "forwardauth-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := loadkit.WriteConfig(dir, authz)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"serve", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--forward-auth-addr", "127.0.0.1:0", "--forward-auth-mode", "x-original"}, extra...)
	pc, err := start(pin, "forward_auth_addr", bin, args...)
	if err != nil {
		return err
	}
	defer stop(pc.cmd)
	pc.name = "portcullis forward-auth"
	pc.check = func(head []byte) bool {
		return bytes.HasPrefix(head, ok200) && bytes.Contains(head, []byte("\r\nx-authorizer-principal-id: load-user\r\n"))
	}
	bs, err := start(pin, "", self, "-bare")
	if err != nil {
		return err
	}
	defer stop(bs.cmd)
	bs.name = "bare net/http 200"
	bs.check = func(head []byte) bool { return bytes.HasPrefix(head, ok200) }
	servers := []*server{pc, bs}

	fmt.Printf("forward-auth load: %d rounds of %s per server, %d keep-alive connections, %s\n",
		rounds, d, c, map[bool]string{true: "servers on CPU 0, client on CPU 1", false: "unpinned"}[pin])
	for _, s := range servers { // warm up: connections, the cache entry, the runtime
		if _, err := drive(s, 500*time.Millisecond, c, 0); err != nil {
			return err
		}
	}
	fmt.Println("\nas fast as each server goes (the load client on one CPU may set the rate):")
	saturated, err := runRounds(servers, rounds, func(s *server) (result, error) { return drive(s, d, c, 0) })
	if err != nil {
		return err
	}
	if _, err := report(servers, saturated); err != nil {
		return err
	}
	// At the same rate, both servers get the same arrivals, so their CPU per request compares
	// work with work, not one's idle wake-ups with the other's batching.
	rate := int(min(median(saturated[0], rps), median(saturated[1], rps)) / 2)
	fmt.Printf("\nboth held to %d requests/s (half the slower one's maximum):\n", rate)
	held, err := runRounds(servers, rounds, func(s *server) (result, error) { return drive(s, d, c, rate) })
	if err != nil {
		return err
	}
	cpu, err := report(servers, held)
	if err != nil {
		return err
	}
	verdict := "met"
	if cpu > maxCPURatio {
		verdict = "NOT met"
	}
	fmt.Printf("target: CPU per forward-auth cached allow <= %.1fx the bare server's, at the same rate: %s (%.2fx)\n", maxCPURatio, verdict, cpu)
	return nil
}

func rps(r result) float64 { return r.rps }

// rounds_ runs every server once per round, in a rotating order.
func runRounds(servers []*server, rounds int, run func(*server) (result, error)) ([][]result, error) {
	runs := make([][]result, len(servers))
	for r := range rounds {
		for k := range servers {
			i := (r + k) % len(servers)
			res, err := run(servers[i])
			if err != nil {
				return nil, err
			}
			runs[i] = append(runs[i], res)
		}
	}
	return runs, nil
}

// report prints the rounds and returns the median ratio of CPU per request.
func report(servers []*server, runs [][]result) (float64, error) {
	fmt.Printf("%-26s %12s %14s %8s\n", "server", "requests/s", "CPU µs/request", "errors")
	for i, s := range servers {
		errs := 0
		for _, r := range runs[i] {
			errs += r.errors
		}
		fmt.Printf("%-26s %12.0f %14.1f %8d\n", s.name, median(runs[i], func(r result) float64 { return r.rps }),
			median(runs[i], func(r result) float64 { return r.cpuUS }), errs)
		if errs > 0 {
			return 0, fmt.Errorf("%s: %d requests failed or got another answer", s.name, errs)
		}
	}
	cpu := ratios(runs[0], runs[1], func(r result) float64 { return r.cpuUS })
	rps := ratios(runs[0], runs[1], func(r result) float64 { return r.rps })
	fmt.Printf("ratio portcullis/bare: CPU per request %.2f (range %.2f-%.2f), requests/s %.2f (range %.2f-%.2f)\n",
		med(cpu), slices.Min(cpu), slices.Max(cpu), med(rps), slices.Min(rps), slices.Max(rps))
	return med(cpu), nil
}

// drive sends the same request on c keep-alive connections for d and measures the server.
// rps above 0 holds the load to that many requests per second in all, each connection sending on
// its own fixed schedule, so that both servers see the same arrivals.
func drive(s *server, d time.Duration, c, rps int) (result, error) {
	req := "GET /auth HTTP/1.1\r\nHost: api.example.com\r\nX-Original-Method: GET\r\n" +
		"X-Original-URI: /pets/42?limit=10\r\nAuthorization: Bearer load-token\r\nUser-Agent: load\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\nX-Request-Id: 7f0c1e9e-1c1b-4a43-9a8e-2f6b8f1f2a11\r\n\r\n"
	var count, errs atomic.Int64
	cpu0, err := loadkit.ProcessCPU(s.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	var interval time.Duration
	if rps > 0 {
		interval = time.Duration(float64(c) / float64(rps) * float64(time.Second))
	}
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				errs.Add(1)
				return
			}
			defer conn.Close()
			buf := make([]byte, 0, 4096)
			next := start.Add(interval * time.Duration(w) / time.Duration(c))
			for time.Now().Before(deadline) {
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
					next = next.Add(interval)
				}
				if _, err := io.WriteString(conn, req); err != nil {
					errs.Add(1)
					return
				}
				head, err := readResponse(conn, &buf)
				if err != nil {
					errs.Add(1)
					return
				}
				if !s.check(head) {
					errs.Add(1)
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	cpu1, err := loadkit.ProcessCPU(s.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	n := float64(count.Load())
	if n == 0 {
		return result{}, fmt.Errorf("%s: no request answered", s.name)
	}
	return result{rps: n / took.Seconds(), cpuUS: float64(cpu1-cpu0) / float64(time.Microsecond) / n, errors: int(errs.Load())}, nil
}

var ok200 = []byte("HTTP/1.1 200 ")

// readResponse reads one response with an empty body (both servers answer Content-Length: 0)
// and returns its head. A load client this lean leaves the server, not the client, setting the
// rate on a small machine; http.ReadResponse costs the client several times the server's work.
func readResponse(conn net.Conn, buf *[]byte) ([]byte, error) {
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			return nil, fmt.Errorf("response head over %d bytes", cap(b))
		}
		n, err := conn.Read(b[len(b):cap(b)])
		if err != nil {
			return nil, err
		}
		b = b[:len(b)+n]
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			if i+4 != len(b) {
				return nil, fmt.Errorf("unexpected bytes after the response head")
			}
			if !bytes.Contains(bytes.ToLower(b[:i]), []byte("\r\ncontent-length: 0")) {
				return nil, fmt.Errorf("response with a body: %.200q", b)
			}
			*buf = b
			return b[:i+2], nil
		}
	}
}

// start runs a server on CPU 0 and waits for its address: from the JSON log field addrField, or
// from a line holding only an address.
func start(pin bool, addrField, bin string, args ...string) (*server, error) {
	cmd := exec.Command(bin, args...)
	if pin {
		if ts, err := exec.LookPath("taskset"); err == nil {
			cmd = exec.Command(ts, append([]string{"-c", "0", bin}, args...)...)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addrc := make(chan string, 2)
	scan := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil {
				if a, ok := rec[addrField].(string); ok && addrField != "" {
					addrc <- a
				}
				continue
			}
			if _, _, err := net.SplitHostPort(line); err == nil {
				addrc <- line
			}
		}
	}
	go scan(stdout)
	go scan(stderr)
	select {
	case a := <-addrc:
		return &server{cmd: cmd, addr: a}, nil
	case <-time.After(20 * time.Second):
		stop(cmd)
		return nil, fmt.Errorf("%s did not start", bin)
	}
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return med(v)
}

func med(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratios(a, b []result, f func(result) float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = f(a[i]) / f(b[i])
	}
	return out
}
