package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A load client on this machine needs more CPU per Check than the servers do (ghz about four
// times as much), so with one CPU each the client sets the rate and the comparison measures the
// client. cpuCap gives one server a CFS quota in a cgroup of its own, as a Kubernetes CPU limit
// does, so that the same client has room to spare and the rate is the server's.
type cpuCap struct {
	dir string
	v2  bool
}

// capPeriodUS is the CFS period, in microseconds: short, so a throttled server waits
// milliseconds, not 100 ms.
const capPeriodUS = 10000

// newCPUCap makes an empty cgroup named name under the cpu controller, v1 or v2.
func newCPUCap(name string) (*cpuCap, error) {
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		c := &cpuCap{dir: filepath.Join("/sys/fs/cgroup/cpu", name)}
		return c, os.Mkdir(c.dir, 0o755)
	}
	ctrl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil || !strings.Contains(" "+string(ctrl)+" ", " cpu ") {
		return nil, errors.New("no writable cgroup cpu controller (cgroup v1 /sys/fs/cgroup/cpu or v2 with cpu)")
	}
	if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0o644); err != nil {
		return nil, fmt.Errorf("enabling the cgroup v2 cpu controller: %w", err)
	}
	c := &cpuCap{dir: filepath.Join("/sys/fs/cgroup", name), v2: true}
	return c, os.Mkdir(c.dir, 0o755)
}

// add moves the process, all its threads, into the cgroup.
func (c *cpuCap) add(pid int) error {
	return os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

// set limits the cgroup to cpus CPUs; 0 lifts the limit.
func (c *cpuCap) set(cpus float64) error {
	quota := int(cpus * capPeriodUS)
	if c.v2 {
		v := "max " + strconv.Itoa(capPeriodUS)
		if cpus > 0 {
			v = fmt.Sprintf("%d %d", quota, capPeriodUS)
		}
		return os.WriteFile(filepath.Join(c.dir, "cpu.max"), []byte(v), 0o644)
	}
	if cpus <= 0 {
		quota = -1
	}
	if err := os.WriteFile(filepath.Join(c.dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(capPeriodUS)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644)
}

// throttling returns the CFS periods so far and how many of them ran out of quota.
func (c *cpuCap) throttling() (periods, throttled int64, err error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat"))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "nr_periods":
			periods = n
		case "nr_throttled":
			throttled = n
		}
	}
	return periods, throttled, nil
}

// remove moves any process still in the cgroup back to its parent and deletes the cgroup.
func (c *cpuCap) remove() error {
	procs, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	if err != nil {
		return err
	}
	for _, pid := range strings.Fields(string(procs)) {
		// A process that exits meanwhile leaves by itself.
		_ = os.WriteFile(filepath.Join(filepath.Dir(c.dir), "cgroup.procs"), []byte(pid), 0o644)
	}
	return os.Remove(c.dir)
}

// capServers puts every server in a cgroup of its own, with no limit yet, and returns the
// cgroups made, which removeCaps deletes, also after an error.
func capServers(servers []server) ([]*cpuCap, error) {
	// A run stopped by a signal leaves its cgroups behind, empty once its servers died with it.
	for _, root := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup"} {
		stale, _ := filepath.Glob(filepath.Join(root, "portcullis-load-*"))
		for _, dir := range stale {
			_ = os.Remove(dir) // fails, harmlessly, for one still in use
		}
	}
	var caps []*cpuCap
	for i := range servers {
		c, err := newCPUCap(fmt.Sprintf("portcullis-load-%d-%d", os.Getpid(), i))
		if err != nil {
			return caps, err
		}
		caps = append(caps, c)
		if err := c.add(servers[i].pid); err != nil {
			return caps, fmt.Errorf("moving %s into %s: %w", servers[i].name, c.dir, err)
		}
		// Tried now, so that a cgroup whose quota cannot be set skips the pass rather than
		// failing it halfway.
		if err := c.set(0); err != nil {
			return caps, fmt.Errorf("setting a quota on %s: %w", c.dir, err)
		}
		servers[i].cap = c
	}
	return caps, nil
}

func removeCaps(caps []*cpuCap) {
	for _, c := range caps {
		if err := c.remove(); err != nil {
			fmt.Fprintf(os.Stderr, "load: removing cgroup %s: %v\n", c.dir, err)
		}
	}
}

// setCaps limits every server to cpus CPUs; 0 lifts the limits.
func setCaps(servers []server, cpus float64) error {
	for _, s := range servers {
		if err := s.cap.set(cpus); err != nil {
			return fmt.Errorf("limiting %s to %g CPU: %w", s.name, cpus, err)
		}
	}
	return nil
}
