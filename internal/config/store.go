package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
)

// Store is where records, events and the shared state are kept.
type Store struct {
	// Driver is sqlite (the default: server.data_dir/switchboard.db, one
	// node) or postgres (DSN; several nodes may share it).
	Driver string `yaml:"driver"`
	// DSN is PostgreSQL's connection string, a URL or key=value pairs; it
	// may hold a password, so it may come from DSNFile or the environment
	// like the other secrets (secrets.go).
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
}

// Node is this server among others sharing a store.
type Node struct {
	// Name is written on every call record and event this node writes;
	// default: the host's name, on a store of its own. On a shared store
	// (postgres) it must be set, each node's its own.
	Name string `yaml:"name"`
	// Proxies are the SIP proxies in front of the node (Kamailio, by IP
	// address). A request that really comes from one of them is taken as
	// coming from the address the proxy reports in its
	// X-Switchboard-Source header (deploy/kamailio): that address is what
	// trunk trust, bans, rate limits and call records see. From any other
	// source the header is ignored.
	Proxies []string `yaml:"proxies"`
}

// ProxyAddrs is Proxies parsed (validated: every entry is an IP address).
func (n Node) ProxyAddrs() []netip.Addr {
	var out []netip.Addr
	for _, p := range n.Proxies {
		if a, err := netip.ParseAddr(p); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// defaultNodeName is the host's name, or "node1" where it has none fit
// for a node's name.
func defaultNodeName() string {
	if h, err := os.Hostname(); err == nil && nodeName.MatchString(h) {
		return h
	}
	return "node1"
}

func (c *Config) validateStore(v *validator) {
	switch c.Store.Driver {
	case "", DriverSQLite:
		if c.Store.DSN != "" {
			v.add("store", "dsn: only for driver postgres (sqlite keeps its file in server.data_dir)", "store", "dsn")
		}
	case DriverPostgres:
		if c.Store.DSN == "" {
			v.add("store", "dsn: required with driver postgres", "store", "driver")
		}
	default:
		v.add("store", fmt.Sprintf("driver: %q is not sqlite or postgres", c.Store.Driver), "store", "driver")
	}
	if c.Store.Driver == DriverPostgres && c.Node.Name == "" {
		v.add("node", "name: required with store driver postgres (each node sharing the store has its own)", "store", "driver")
	} else if !nodeName.MatchString(c.Node.Name) {
		v.add("node", fmt.Sprintf("name: %q must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Node.Name), "node", "name")
	}
	if c.Store.Driver == DriverPostgres {
		// The nodes call each other at the HTTP address each advertises:
		// a wildcard would send every node's calls to itself.
		if host, _, err := net.SplitHostPort(c.Server.HTTPListen); err == nil {
			if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
				v.add("server", fmt.Sprintf("http_listen: %q: with store driver postgres the other nodes call this node at this address; give its own address, not a wildcard", c.Server.HTTPListen), "server", "http_listen")
			}
		}
	}
	for i, p := range c.Node.Proxies {
		if _, err := netip.ParseAddr(p); err != nil {
			v.add("node", fmt.Sprintf("proxies[%d]: %q is not an IP address", i, p), "node", "proxies")
		}
	}
}
