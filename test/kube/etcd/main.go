// Command etcd-embedded runs a single-member etcd from go.etcd.io/etcd/server/v3/embed, for the
// tests that start a Kubernetes API server as a process (etcd's own main cannot be installed
// with go install). It listens on loopback only and stops on SIGTERM or SIGINT.
//
//	etcd-embedded -data-dir DIR -client-port 2379 -peer-port 2380
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dir := flag.String("data-dir", "", "data directory (required)")
	clientPort := flag.Int("client-port", 2379, "loopback port for clients")
	peerPort := flag.Int("peer-port", 2380, "loopback port for peers")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "etcd-embedded: -data-dir is required")
		os.Exit(2)
	}
	if err := run(*dir, *clientPort, *peerPort); err != nil {
		fmt.Fprintln(os.Stderr, "etcd-embedded:", err)
		os.Exit(1)
	}
}

func run(dir string, clientPort, peerPort int) error {
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = "test"
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		return fmt.Errorf("not ready after 30s")
	}
	fmt.Println("etcd ready on", client.String())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stop:
		return nil
	case err := <-e.Err():
		return err
	}
}
