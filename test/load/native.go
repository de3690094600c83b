package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
)

// nativeReport is what the native client prints, as JSON, for the parent to read.
type nativeReport struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	RPS    float64 `json:"rps"`
	P50    int64   `json:"p50"`
	P99    int64   `json:"p99"`
}

// runNative drives addr with c workers over conns connections for d using the generated
// protos, so the client's own cost per Check is far below ghz's (which decodes every response
// dynamically). It separates what the server costs from what the load generator costs.
func runNative(addr string, d time.Duration, c, conns, rps int) error {
	req, err := loadCheck()
	if err != nil {
		return err
	}
	clients := make([]authv3.AuthorizationClient, conns)
	for i := range clients {
		client, closeConn, err := dial(addr)
		if err != nil {
			return err
		}
		defer closeConn()
		clients[i] = client
	}
	ctx := context.Background()
	for _, cl := range clients { // warm up
		for range 500 {
			cl.Check(ctx, req)
		}
	}
	// Held to rps, Checks start at even intervals, each worker taking the next start time, and
	// a Check's latency counts from its start time: one held back by a slow answer is late, and
	// its lateness is latency (no coordinated omission).
	var next atomic.Int64
	interval := int64(0)
	if rps > 0 {
		interval = int64(time.Second) / int64(rps)
	}
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, c)
	errs := make([]int, c)
	var wg sync.WaitGroup
	start := time.Now()
	next.Store(start.UnixNano())
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[w%len(clients)]
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if interval > 0 {
					t0 = time.Unix(0, next.Add(interval)-interval)
					if t0.After(deadline) {
						return
					}
					time.Sleep(time.Until(t0))
				}
				resp, err := cl.Check(ctx, req)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || resp.GetOkResponse() == nil {
					errs[w]++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	rep := nativeReport{}
	for w := range c {
		all = append(all, lat[w]...)
		rep.Errors += errs[w]
	}
	slices.Sort(all)
	rep.Count = len(all)
	rep.RPS = float64(len(all)) / elapsed.Seconds()
	if len(all) > 0 {
		rep.P50, rep.P99 = int64(all[len(all)/2]), int64(all[len(all)*99/100])
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// driveNative runs the native client pinned to CPU 1, as ghz is.
func driveNative(name, addr string, pid int, d time.Duration, c, conns, rps int) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cpu0, err := processCPU(pid)
	if err != nil {
		return result{}, err
	}
	cmd := command("1", self, "-native-client", addr, "-duration", d.String(), "-c", strconv.Itoa(c), "-connections", strconv.Itoa(conns), "-rps", strconv.Itoa(rps))
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("native client: %v", err)
	}
	cpu1, err := processCPU(pid)
	if err != nil {
		return result{}, err
	}
	var rep nativeReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return result{}, fmt.Errorf("native client output %q: %v", out, err)
	}
	r := result{name: name, rps: rep.RPS, count: rep.Count, errors: rep.Errors, p50: time.Duration(rep.P50), p99: time.Duration(rep.P99)}
	if rep.Count > 0 {
		r.cpuUS = float64(cpu1-cpu0) / float64(rep.Count) / float64(time.Microsecond)
		r.clientUS = clientCPU(cmd, rep.Count)
	}
	return r, nil
}

// loadCheck is the CheckRequest every load client sends: checkData.
func loadCheck() (*authv3.CheckRequest, error) {
	req := &authv3.CheckRequest{}
	return req, protojson.Unmarshal([]byte(checkData), req)
}

// dial connects a plaintext Authorization client to addr; closeConn closes its connection.
func dial(addr string) (client authv3.AuthorizationClient, closeConn func() error, err error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	return authv3.NewAuthorizationClient(cc), cc.Close, nil
}
