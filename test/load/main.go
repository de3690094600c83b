// Command load is the load comparison of `make bench`: it starts portcullis (with an HTTP
// authorizer whose answer gets cached) and two bare no-op Check servers, one answering an empty
// OK and one answering Portcullis's own response byte for byte; drives each with ghz and with a
// native Go client at the same fixed concurrency; and prints requests per second, server CPU per
// Check, latency percentiles and the ratios of portcullis to each baseline.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
)

func main() {
	ghz := flag.String("ghz", "bin/ghz", "ghz binary")
	portcullis := flag.String("portcullis", "bin/portcullis", "portcullis binary")
	duration := flag.Duration("duration", 10*time.Second, "load duration per server")
	concurrency := flag.Int("c", 50, "ghz concurrency")
	connections := flag.Int("connections", 2, "ghz connections")
	pin := flag.Bool("pin", true, "pin the server to CPU 0 and the load client to CPU 1 (taskset), so client work does not eat the server's CPU")
	native := flag.String("native-client", "", "internal: run the native load client against this address")
	extra := flag.String("portcullis-flags", "", "more `portcullis serve` flags, space-separated, e.g. \"--grpc-stream-workers=2\"")
	extraEnv := flag.String("portcullis-env", "", "environment for portcullis alone, space-separated, e.g. \"GOGC=200\"")
	flag.Parse()
	pinned = *pin
	if *native != "" {
		if err := runNative(*native, *duration, *concurrency, *connections); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*ghz, *portcullis, strings.Fields(*extra), strings.Fields(*extraEnv), *duration, *concurrency, *connections); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// pinned runs servers and ghz on separate CPUs.
var pinned bool

// command makes a command, pinned to cpu when pinning is on and taskset exists.
func command(cpu string, name string, args ...string) *exec.Cmd {
	if pinned {
		if ts, err := exec.LookPath("taskset"); err == nil {
			return exec.Command(ts, append([]string{"-c", cpu, name}, args...)...)
		}
	}
	return exec.Command(name, args...)
}

type result struct {
	name     string
	rps      float64
	cpuUS    float64 // server CPU microseconds per Check
	p50, p99 time.Duration
	errors   int
	count    int
}

func run(ghz, portcullis string, extra, env []string, d time.Duration, c, conns int) error {
	dir, err := os.MkdirTemp("", "portcullis-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	noopBin := filepath.Join(dir, "noop")
	if out, err := exec.Command("go", "build", "-o", noopBin, "./test/load/noop").CombinedOutput(); err != nil {
		return fmt.Errorf("building the no-op server: %v\n%s", err, out)
	}
	authz := startAuthorizer()
	defer authz.Close()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(loadConfig, "AUTHZ_URL", "http://"+authz.Addr+"/")), 0o600); err != nil {
		return err
	}

	args := append([]string{"serve", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "info"}, extra...)
	pc, pcAddr, err := startServer(portcullis, env, args...)
	if err != nil {
		return err
	}
	defer func() { pc.Process.Kill(); pc.Wait() }()
	// The second baseline answers with Portcullis's own cached-allow response, byte for byte, so
	// both sides of that comparison cost the load client the same to read.
	answer := filepath.Join(dir, "answer.json")
	if err := saveAnswer(pcAddr, answer); err != nil {
		return err
	}
	noop, noopAddr, err := startServer(noopBin, nil, "-addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer func() { noop.Process.Kill(); noop.Wait() }()
	same, sameAddr, err := startServer(noopBin, nil, "-addr", "127.0.0.1:0", "-answer", answer)
	if err != nil {
		return err
	}
	defer func() { same.Process.Kill(); same.Wait() }()

	type driver func(name, addr string, pid int) (result, error)
	drivers := []struct {
		name string
		run  driver
	}{
		{"ghz", func(name, addr string, pid int) (result, error) { return drive(ghz, name, addr, pid, d, c, conns, 0) }},
		{"native Go client", func(name, addr string, pid int) (result, error) { return driveNative(name, addr, pid, d, c, conns) }},
	}
	failed := false
	for _, drv := range drivers {
		empty, err := drv.run("no-op, empty OK", noopAddr, noop.Process.Pid)
		if err != nil {
			return err
		}
		sameAnswer, err := drv.run("no-op, Portcullis's answer", sameAddr, same.Process.Pid)
		if err != nil {
			return err
		}
		got, err := drv.run("portcullis cached allow", pcAddr, pc.Process.Pid)
		if err != nil {
			return err
		}
		fmt.Printf("\nload client: %s, concurrency %d, %d connections, %s per server\n", drv.name, c, conns, d)
		fmt.Printf("%-28s %12s %14s %10s %10s %8s\n", "server", "Checks/s", "CPU µs/Check", "p50", "p99", "errors")
		for _, r := range []result{empty, sameAnswer, got} {
			fmt.Printf("%-28s %12.0f %14.1f %10s %10s %8d\n", r.name, r.rps, r.cpuUS, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors)
		}
		for _, base := range []result{empty, sameAnswer} {
			fmt.Printf("portcullis / %-28s Checks/s %.3f, server CPU per Check %.3f\n", base.name+":", got.rps/base.rps, got.cpuUS/base.cpuUS)
		}
		failed = failed || got.errors > 0 || empty.errors > 0 || sameAnswer.errors > 0
		if drv.name != "ghz" {
			continue
		}
		// Latency where it matters: at half the rate each server reached, not at saturation.
		fmt.Printf("\nat half the maximum rate (ghz --rps), concurrency %d, %s per server\n", c, d)
		fmt.Printf("%-28s %12s %14s %10s %10s %8s\n", "server", "Checks/s", "CPU µs/Check", "p50", "p99", "errors")
		for _, r := range []struct {
			res  result
			addr string
			pid  int
		}{{empty, noopAddr, noop.Process.Pid}, {sameAnswer, sameAddr, same.Process.Pid}, {got, pcAddr, pc.Process.Pid}} {
			half, err := drive(ghz, r.res.name, r.addr, r.pid, d, c, conns, int(r.res.rps/2))
			if err != nil {
				return err
			}
			fmt.Printf("%-28s %12.0f %14.1f %10s %10s %8d\n", half.name, half.rps, half.cpuUS, half.p50.Round(time.Microsecond), half.p99.Round(time.Microsecond), half.errors)
			failed = failed || half.errors > 0
		}
	}
	if failed {
		return fmt.Errorf("the load clients reported errors")
	}
	return nil
}

// saveAnswer asks portcullis once (filling its cache) and writes the CheckResponse as protojson.
func saveAnswer(addr, file string) error {
	req, err := loadCheck()
	if err != nil {
		return err
	}
	client, closeConn, err := dial(addr)
	if err != nil {
		return err
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client.Check(ctx, req)
	if err != nil {
		return fmt.Errorf("the first Check: %w", err)
	}
	if resp.GetOkResponse() == nil {
		return fmt.Errorf("the first Check was not allowed: %v", resp)
	}
	b, err := protojson.Marshal(resp)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o600)
}

// startServer runs a server binary, with env added to this process's environment, and returns it
// with the gRPC address it listens on.
func startServer(bin string, env []string, args ...string) (*exec.Cmd, string, error) {
	cmd := command("0", bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addrc := make(chan string, 2)
	scan := func(sc *bufio.Scanner) {
		for sc.Scan() {
			line := sc.Text()
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil {
				if a, ok := rec["grpc_addr"].(string); ok {
					addrc <- a
				}
				continue
			}
			if _, _, err := net.SplitHostPort(strings.TrimSpace(line)); err == nil {
				addrc <- strings.TrimSpace(line)
			}
		}
	}
	go scan(bufio.NewScanner(stdout))
	go scan(bufio.NewScanner(stderr))
	select {
	case a := <-addrc:
		return cmd, a, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("%s did not start", bin)
	}
}

const checkData = `{"attributes":{"source":{"address":{"socketAddress":{"address":"203.0.113.7","portValue":40000}}},
"request":{"http":{"method":"GET","host":"api.example.com","path":"/pets/42?limit=10","scheme":"https","protocol":"HTTP/1.1",
"headers":{":authority":"api.example.com",":method":"GET",":path":"/pets/42?limit=10","authorization":"Bearer load-token",
"user-agent":"ghz","x-request-id":"7f0c1e9e-1c1b-4a43-9a8e-2f6b8f1f2a11","accept":"*/*"}}}}}`

// drive runs ghz against addr for d; rps above 0 holds it to that rate instead of as fast as it
// can go.
func drive(ghz, name, addr string, pid int, d time.Duration, c, conns, rps int) (result, error) {
	args := []string{"--insecure", "--call", "envoy.service.auth.v3.Authorization.Check", "-d", checkData,
		"-c", strconv.Itoa(c), "--connections", strconv.Itoa(conns), "-O", "json", "--duration-stop", "ignore"}
	// Warm up: connections, the cache entry, the Go runtime.
	if out, err := command("1", ghz, append(args, "-n", "2000", addr)...).CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("ghz warm-up: %v\n%s", err, out)
	}
	if rps > 0 {
		args = append(args, "--rps", strconv.Itoa(rps))
	}
	cpu0, err := processCPU(pid)
	if err != nil {
		return result{}, err
	}
	out, err := command("1", ghz, append(args, "-z", d.String(), addr)...).Output()
	if err != nil {
		return result{}, fmt.Errorf("ghz: %v", err)
	}
	cpu1, err := processCPU(pid)
	if err != nil {
		return result{}, err
	}
	var rep struct {
		Count               int     `json:"count"`
		RPS                 float64 `json:"rps"`
		LatencyDistribution []struct {
			Percentage int   `json:"percentage"`
			Latency    int64 `json:"latency"`
		} `json:"latencyDistribution"`
		StatusCodeDistribution map[string]int `json:"statusCodeDistribution"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return result{}, fmt.Errorf("ghz output: %v", err)
	}
	r := result{name: name, rps: rep.RPS, count: rep.Count}
	for _, l := range rep.LatencyDistribution {
		switch l.Percentage {
		case 50:
			r.p50 = time.Duration(l.Latency)
		case 99:
			r.p99 = time.Duration(l.Latency)
		}
	}
	for code, n := range rep.StatusCodeDistribution {
		if code != "OK" {
			r.errors += n
		}
	}
	if rep.Count > 0 {
		r.cpuUS = float64(cpu1-cpu0) / float64(rep.Count) / float64(time.Microsecond)
	}
	return r, nil
}

// processCPU returns the user+system CPU time the process has used, from /proc.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

type authorizerServer struct {
	*http.Server
	Addr string
}

// startAuthorizer serves an HTTP Lambda-authorizer that allows everything for the load token.
func startAuthorizer() *authorizerServer {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"principalId":"load-user","policyDocument":{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*"}]},` +
			`"context":{"tenant":"acme","plan":"gold"}}`))
	})}
	go srv.Serve(lis)
	return &authorizerServer{Server: srv, Addr: lis.Addr().String()}
}

const loadConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 3600
  http: {url: "AUTHZ_URL"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  hosts: [api.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: "/pets/{petId}", methods: [GET]}
`
