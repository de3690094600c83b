// Command load is the load comparison of `make bench`: it starts portcullis (with an HTTP
// authorizer whose answer gets cached) and two bare no-op Check servers, one answering an empty
// OK and one answering Portcullis's own response byte for byte; drives each with ghz and with a
// native Go client at the same fixed concurrency, in interleaved rounds, as fast as each goes,
// then held to half that rate, then again as fast as it goes with every server limited to a
// share of a CPU; and prints requests per second, server CPU per Check, latency percentiles,
// the ratios of portcullis to each baseline (median and range over the rounds) and whether each
// target is met.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/portcullis-dev/portcullis/test/load/loadkit"
)

func main() {
	ghz := flag.String("ghz", "bin/ghz", "ghz binary")
	portcullis := flag.String("portcullis", "bin/portcullis", "portcullis binary")
	duration := flag.Duration("duration", 5*time.Second, "load duration per server and round")
	nRounds := flag.Int("rounds", 5, "rounds: each runs every server once, in a rotating order")
	concurrency := flag.Int("c", 50, "load clients' concurrency")
	// ghz held to a rate sends each Check when one of its workers takes a tick; with 50 workers
	// waiting, its own p99 at 9,000/s was 4.6-5.1 ms against 1.8-1.9 ms with 10, same server.
	ghzHalfC := flag.Int("ghz-half-c", 10, "ghz's concurrency when held to half the maximum rate (the native client paces its own schedule and keeps -c)")
	connections := flag.Int("connections", 2, "ghz connections")
	pin := flag.Bool("pin", true, "pin the server to CPU 0 and the load client to CPU 1 (taskset), so client work does not eat the server's CPU")
	native := flag.String("native-client", "", "internal: run the native load client against this address")
	extra := flag.String("portcullis-flags", "", "more `portcullis serve` flags, space-separated, e.g. \"--grpc-stream-workers=2\"")
	extraEnv := flag.String("portcullis-env", "", "environment for portcullis alone, space-separated, e.g. \"GOGC=200\"")
	variantFlags := flag.String("variant-flags", "", "also run a second portcullis with these flags added, in the same rounds, to compare a setting directly")
	variantEnv := flag.String("variant-env", "", "also run a second portcullis with this environment added (see -variant-flags)")
	clientList := flag.String("clients", "ghz,native", "load clients to run, comma-separated: ghz, native")
	rps := flag.Int("rps", 0, "internal: with -native-client, the rate to hold to (0: as fast as it goes)")
	cpuLimit := flag.Float64("cpu-limit", 0.15, "also run the rounds with every server limited to this many CPUs (a cgroup CFS quota, needs root), so that the server sets the rate and not the load client; 0: skip")
	flag.Parse()
	pinned = *pin
	if *native != "" {
		if err := runNative(*native, *duration, *concurrency, *connections, *rps); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	o := options{
		ghz: *ghz, portcullis: *portcullis, extra: strings.Fields(*extra), env: strings.Fields(*extraEnv),
		variant:  variant{flags: strings.Fields(*variantFlags), env: strings.Fields(*variantEnv)},
		duration: *duration, rounds: max(*nRounds, 1), c: *concurrency, conns: *connections,
		clients: strings.Split(*clientList, ","), cpuLimit: *cpuLimit, ghzHalfC: *ghzHalfC,
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// options are one comparison's settings, from the flags.
type options struct {
	ghz, portcullis string
	extra, env      []string // portcullis's added flags and environment
	variant         variant
	duration        time.Duration // per server and round
	rounds          int
	c, conns        int // concurrency, connections
	clients         []string
	cpuLimit        float64 // CPUs per server in the server-bound rounds; 0: none
	ghzHalfC        int     // ghz's concurrency at half rate
}

// variant is a second portcullis's added flags and environment; none: no second one.
type variant struct{ flags, env []string }

// pinned runs servers and ghz on separate CPUs.
var pinned bool

// command makes a command, pinned to cpu when pinning is on and taskset exists.
// The servers and clients it starts are killed when this process dies, however it dies.
func command(cpu string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if pinned {
		if ts, err := exec.LookPath("taskset"); err == nil {
			cmd = exec.Command(ts, append([]string{"-c", cpu, name}, args...)...)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

type result struct {
	name     string
	rps      float64
	cpuUS    float64 // server CPU microseconds per Check
	clientUS float64 // load client CPU microseconds per Check: with rps, how busy the client was
	p50, p99 time.Duration
	errors   int
	count    int
	// throttled is the share of CFS periods in which a CPU-limited server used up its quota:
	// near 1, the server set the rate.
	throttled float64
}

// busy is the share of a CPU, in percent, the load client used.
func (r result) busy() float64 { return r.rps * r.clientUS / 1e4 }

func (r result) p99ms() float64 { return float64(r.p99) / float64(time.Millisecond) }

func run(o options) error {
	extra, env, v := o.extra, o.env, o.variant
	dir, err := os.MkdirTemp("", "portcullis-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	noopBin := filepath.Join(dir, "noop")
	if out, err := exec.Command("go", "build", "-o", noopBin, "./test/load/noop").CombinedOutput(); err != nil {
		return fmt.Errorf("building the no-op server: %v\n%s", err, out)
	}
	authz, err := loadkit.StartAuthorizer()
	if err != nil {
		return err
	}
	defer func() { _ = authz.Close() }()
	cfg, err := loadkit.WriteConfig(dir, authz)
	if err != nil {
		return err
	}

	args := append([]string{"serve", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "info"}, extra...)
	pc, pcAddr, err := startServer(o.portcullis, env, args...)
	if err != nil {
		return err
	}
	defer stop(pc)
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
	defer stop(noop)
	same, sameAddr, err := startServer(noopBin, nil, "-addr", "127.0.0.1:0", "-answer", answer)
	if err != nil {
		return err
	}
	defer stop(same)

	servers := []server{
		{name: "no-op, empty OK", addr: noopAddr, pid: noop.Process.Pid},
		{name: "no-op, Portcullis's answer", addr: sameAddr, pid: same.Process.Pid},
		{name: "portcullis cached allow", addr: pcAddr, pid: pc.Process.Pid},
	}
	if len(v.flags)+len(v.env) > 0 {
		vc, vAddr, err := startServer(o.portcullis, append(slices.Clone(env), v.env...), append(slices.Clone(args), v.flags...)...)
		if err != nil {
			return err
		}
		defer stop(vc)
		if err := saveAnswer(vAddr, filepath.Join(dir, "variant.json")); err != nil {
			return err
		}
		servers = append(servers, server{name: "portcullis " + strings.Join(append(slices.Clone(v.flags), v.env...), " "), addr: vAddr, pid: vc.Process.Pid})
	}
	if o.cpuLimit > 0 {
		caps, err := capServers(servers)
		defer removeCaps(caps)
		if err != nil {
			fmt.Printf("server-bound rounds skipped: %v\n", err)
			o.cpuLimit = 0
		}
	}
	var verdicts []string
	failed := false
	for _, drv := range drivers(o) {
		if !slices.Contains(o.clients, drv.id) {
			continue
		}
		v, clientFailed, err := passes(drv, servers, o)
		if err != nil {
			return err
		}
		verdicts, failed = append(verdicts, v...), failed || clientFailed
	}
	fmt.Println("\ntargets (issue: faster than the bare server, no more CPU, p99 under 2 ms at half rate):")
	if o.cpuLimit > 0 {
		fmt.Printf("  (Checks/s judged in the rounds at %g CPU, where the server sets the rate; the others' is the load client's)\n", o.cpuLimit)
	}
	for _, v := range verdicts {
		fmt.Println("  " + v)
	}
	if failed {
		return fmt.Errorf("the load clients reported errors")
	}
	return nil
}

// passes runs one load client's passes over the servers: flat out, held to half rate, and flat
// out again with the servers CPU-limited when o.cpuLimit is set. It returns the verdicts, and
// whether the client saw errors.
func passes(drv driver, servers []server, o options) (verdicts []string, failed bool, err error) {
	runs, err := saturate(drv, servers, o, 0)
	if err != nil {
		return nil, false, err
	}
	// With server-bound rounds to come, the rate of these is the client's, not a target.
	verdicts = compare(drv.id, servers, runs, o.cpuLimit == 0)
	half, halfFailed, err := halfRate(drv, servers, runs, o)
	if err != nil {
		return nil, false, err
	}
	verdicts, failed = append(verdicts, half), halfFailed || anyErrors(runs)
	if o.cpuLimit > 0 {
		limited, err := saturate(drv, servers, o, o.cpuLimit)
		if err != nil {
			return nil, false, err
		}
		verdicts = append(verdicts, compare(fmt.Sprintf("%s at %g CPU", drv.id, o.cpuLimit), servers, limited, true)...)
		failed = failed || anyErrors(limited)
	}
	return verdicts, failed, nil
}

// stop kills a server started by startServer and waits for it.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait() // killed: the error says so
}

// pcIndex is portcullis's place among the servers; those before it are the baselines, the one
// after it, if any, the variant.
const pcIndex = 2

// driver runs one load client against a server for the duration, as fast as it can go (rps 0)
// or held to rps.
type driver struct {
	id, name string
	halfC    int // concurrency when held to a rate
	run      func(s server, rps int) (result, error)
}

func drivers(o options) []driver {
	return []driver{
		{"ghz", "ghz", o.ghzHalfC, func(s server, rps int) (result, error) {
			c := o.c
			if rps > 0 {
				c = o.ghzHalfC
			}
			return drive(o.ghz, s.name, s.addr, s.pid, o.duration, c, o.conns, rps)
		}},
		{"native", "native Go client", o.c, func(s server, rps int) (result, error) {
			return driveNative(s.name, s.addr, s.pid, o.duration, o.c, o.conns, rps)
		}},
	}
}

// saturate drives every server as fast as the client goes, o.rounds times, and prints the
// medians. With limit above 0 every server is held to that many CPUs meanwhile.
func saturate(drv driver, servers []server, o options, limit float64) ([][]result, error) {
	if limit > 0 {
		if err := setCaps(servers, limit); err != nil {
			return nil, err
		}
		defer func() { _ = setCaps(servers, 0) }()
	}
	runs, err := interleave(servers, o.rounds, func(_ int, s server) (result, error) { return runCapped(drv, s, limit > 0) })
	if err != nil {
		return nil, err
	}
	fmt.Printf("\nload client: %s, concurrency %d, %d connections, %d rounds of %s per server (median, [range])\n", drv.name, o.c, o.conns, o.rounds, o.duration)
	if limit > 0 {
		fmt.Printf("every server limited to %g CPU (CFS quota %d µs per %d µs): the server sets the rate, the client has room\n",
			limit, int(limit*capPeriodUS), capPeriodUS)
	}
	table(servers, runs, limit > 0)
	return runs, nil
}

// interleave runs every server rounds times, each round in another order, so that the
// machine's own drift (frequency, neighbours) falls on all of them alike.
func interleave(servers []server, rounds int, run func(i int, s server) (result, error)) ([][]result, error) {
	runs := make([][]result, len(servers))
	for r := range rounds {
		for k := range servers {
			i := (k + r) % len(servers)
			res, err := run(i, servers[i])
			if err != nil {
				return nil, err
			}
			runs[i] = append(runs[i], res)
		}
	}
	return runs, nil
}

// table prints each server's medians and ranges over its runs.
func table(servers []server, runs [][]result, throttled bool) {
	fmt.Printf("%-28s %22s %20s %12s %10s %24s %8s", "server", "Checks/s", "CPU µs/Check", "client busy", "p50", "p99", "errors")
	if throttled {
		fmt.Printf(" %10s", "throttled")
	}
	fmt.Println()
	for i, s := range servers {
		rs := runs[i]
		fmt.Printf("%-28s %22s %20s %11.0f%% %10s %24s %8d", s.name, spread(rs, func(r result) float64 { return r.rps }, "%.0f"),
			spread(rs, func(r result) float64 { return r.cpuUS }, "%.1f"),
			medianOf(floats(rs, result.busy)),
			median(rs, func(r result) time.Duration { return r.p50 }).Round(time.Microsecond),
			spread(rs, result.p99ms, "%.2f")+" ms", sum(rs, func(r result) int { return r.errors }))
		if throttled {
			fmt.Printf(" %9.0f%%", 100*medianOf(floats(rs, func(r result) float64 { return r.throttled })))
		}
		fmt.Println()
	}
}

// runCapped runs the client against s as fast as it goes and, when s is CPU-limited, notes how
// often the limit held it back.
func runCapped(drv driver, s server, capped bool) (result, error) {
	if !capped {
		return drv.run(s, 0)
	}
	p0, t0, err := s.cap.throttling()
	if err != nil {
		return result{}, err
	}
	res, err := drv.run(s, 0)
	if err != nil {
		return res, err
	}
	p1, t1, err := s.cap.throttling()
	if p1 > p0 {
		res.throttled = float64(t1-t0) / float64(p1-p0)
	}
	return res, err
}

func anyErrors(runs [][]result) bool {
	for _, rs := range runs {
		if sum(rs, func(r result) int { return r.errors }) > 0 {
			return true
		}
	}
	return false
}

// compare prints portcullis's ratios to every other server, taken round by round, and returns
// the verdicts on the baselines' targets: CPU per Check always, Checks/s when rate is true (the
// rounds were server-bound, or no server-bound rounds are run).
func compare(client string, servers []server, runs [][]result, rate bool) (verdicts []string) {
	for i, base := range servers {
		if i == pcIndex {
			continue
		}
		rates := ratios(runs[pcIndex], runs[i], func(r result) float64 { return r.rps })
		cpu := ratios(runs[pcIndex], runs[i], func(r result) float64 { return r.cpuUS })
		fmt.Printf("portcullis / %-28s Checks/s %s, server CPU per Check %s\n", base.name+":", ratioSpread(rates), ratioSpread(cpu))
		if i > pcIndex {
			continue // the variant: compared, not a target
		}
		if rate {
			verdicts = append(verdicts, verdict(fmt.Sprintf("%s Checks/s, portcullis / %s", client, base.name), medianOf(rates), ">=", 1.0))
		}
		verdicts = append(verdicts, verdict(fmt.Sprintf("%s server CPU per Check, portcullis / %s", client, base.name), medianOf(cpu), "<=", 1.0))
	}
	return verdicts
}

// halfRate measures latency where it matters: each server held to half the rate it reached,
// not at saturation, in interleaved rounds, since one p99 of a few seconds on a shared machine
// swings by milliseconds. It returns the verdict on portcullis's median p99, and whether the
// client saw errors.
func halfRate(drv driver, servers []server, saturated [][]result, o options) (v string, failed bool, err error) {
	runs, err := interleave(servers, o.rounds, func(i int, s server) (result, error) {
		return drv.run(s, int(medianOf(floats(saturated[i], func(r result) float64 { return r.rps }))/2))
	})
	if err != nil {
		return "", false, err
	}
	fmt.Printf("\nat half the maximum rate (%s held to it), concurrency %d, %d rounds of %s per server\n", drv.name, drv.halfC, o.rounds, o.duration)
	table(servers, runs, false)
	p99 := medianOf(floats(runs[pcIndex], result.p99ms))
	return verdict(drv.id+" portcullis p99 at half its maximum rate (median of rounds), ms", p99, "<", 2.0), anyErrors(runs), nil
}

// server is one gRPC server under load: its name, address and process, and the cgroup that
// can limit its CPU.
type server struct {
	name string
	addr string
	pid  int
	cap  *cpuCap
}

func floats(rs []result, f func(result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func median(rs []result, f func(result) time.Duration) time.Duration {
	return time.Duration(medianOf(floats(rs, func(r result) float64 { return float64(f(r)) })))
}

func sum(rs []result, f func(result) int) (n int) {
	for _, r := range rs {
		n += f(r)
	}
	return n
}

// spread formats the median of f over rs and, with more than one run, its range.
func spread(rs []result, f func(result) float64, format string) string {
	v := floats(rs, f)
	if len(v) < 2 {
		return fmt.Sprintf(format, medianOf(v))
	}
	return fmt.Sprintf(format+" ["+format+"-"+format+"]", medianOf(v), slices.Min(v), slices.Max(v))
}

// ratios divides f of a's runs by f of b's, round by round.
func ratios(a, b []result, f func(result) float64) []float64 {
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if f(b[i]) > 0 {
			out = append(out, f(a[i])/f(b[i]))
		}
	}
	return out
}

func ratioSpread(v []float64) string {
	if len(v) < 2 {
		return fmt.Sprintf("%.3f", medianOf(v))
	}
	return fmt.Sprintf("%.3f [%.3f-%.3f]", medianOf(v), slices.Min(v), slices.Max(v))
}

// verdict says whether got meets the target "got op want".
func verdict(what string, got float64, op string, want float64) string {
	met := false
	switch op {
	case ">=":
		met = got >= want
	case "<=":
		met = got <= want
	case "<":
		met = got < want
	}
	word := "met"
	if !met {
		word = "NOT MET"
	}
	return fmt.Sprintf("%-70s %8.3f (target %s %g): %s", what+":", got, op, want, word)
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
	defer func() { _ = closeConn() }()
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
		_ = cmd.Process.Kill()
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
	cpu0, err := loadkit.ProcessCPU(pid)
	if err != nil {
		return result{}, err
	}
	cmd := command("1", ghz, append(args, "-z", d.String(), addr)...)
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("ghz: %v", err)
	}
	cpu1, err := loadkit.ProcessCPU(pid)
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
		r.clientUS = clientCPU(cmd, rep.Count)
	}
	return r, nil
}

// clientCPU is the CPU microseconds per Check the finished load client used, start-up included.
func clientCPU(cmd *exec.Cmd, checks int) float64 {
	ps := cmd.ProcessState
	return float64(ps.UserTime()+ps.SystemTime()) / float64(checks) / float64(time.Microsecond)
}
